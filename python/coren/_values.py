"""Values in coren's one lossless JSON form (coren-records(5), VALUES):
integers of any size bare, NaN and the infinities as {"$float": ...} boxes,
"$u64" and "$int" boxes read back as integers.

The json package is imported only when needed, not here: it imports re
(a few milliseconds of a co-process's start), and a sweep starts
swarm-run first (compact() writes its experiment). Parsing and writing go
through json's own C scanner and encoder (_json), set up as json sets them
up; anything they refuse goes to the json package, for its result or its
error."""

import math

_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_BOX_OF = {"nan": '{"$float":"nan"}', "inf": '{"$float":"inf"}', "-inf": '{"$float":"-inf"}'}
_encoder = None


def _encode(v):
    global _encoder
    if _encoder is None:
        import json

        _encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    return _encoder(v)


try:
    import _json as _cjson  # json's own accelerator, in C
    from _json import encode_basestring_ascii as _ascii_str
except ImportError:  # not CPython
    _cjson = _ascii_str = None


class _Decoder:
    """What _json.make_scanner reads of a json.JSONDecoder()."""

    strict = True
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": -math.inf, "Infinity": math.inf, "NaN": math.nan}.__getitem__

    def __init__(self, object_hook):
        self.object_hook = object_hook
        self.memo = {}


_scanners = None
_WS = " \t\n\r"


def _scan(text, boxed):
    """json.loads(text) by json's C scanner, or None when it has no answer
    (then json.loads has the result or the error)."""
    global _scanners
    if _scanners is None:
        try:
            _scanners = (_cjson.make_scanner(_Decoder(None)), _cjson.make_scanner(_Decoder(_unbox)))
        except Exception:  # noqa: BLE001 - another implementation: json's way
            _scanners = False
    if not _scanners:
        return None
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8", "surrogatepass")  # as json.loads
    start = len(text) - len(text.lstrip(_WS))
    try:
        v, end = _scanners[boxed](text, start)
    except (StopIteration, ValueError):
        return None
    return (v,) if end == len(text) or not text[end:].strip(_WS) else None


def string(s):
    """json.dumps(s) of a str s."""
    if _ascii_str is not None:
        return _ascii_str(s)
    import json

    return json.dumps(s)


def _refuse(o):
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _c_encoder(values):
    # as json.JSONEncoder(...).iterencode(values, _one_shot=True) makes it
    return "".join(_cjson.make_encoder({}, _refuse, _cjson.encode_basestring, None, ":", ",",
                                       False, False, False)(values, 0))


_encode_c = None


def encode_list(values):
    """json.dumps(values, ensure_ascii=False, allow_nan=False,
    separators=(",", ":")) of a list; TypeError or ValueError as it."""
    global _encode_c
    if _encode_c is None:  # json's C encoder, if it is the one we know
        try:
            _encode_c = _c_encoder if _c_encoder([1, "\u00e9", [None, 0.5]]) == '[1,"\u00e9",[null,0.5]]' else False
        except Exception:  # noqa: BLE001 - another implementation: json's way
            _encode_c = False
    return (_encode_c or _encode)(values)


def _compact(v, out):
    t = type(v)
    if t is str:
        out.append(_ascii_str(v))
    elif t is int:
        out.append(int.__repr__(v))
    elif t is float and v - v == 0:
        out.append(float.__repr__(v))
    elif v is None or t is bool:
        out.append("null" if v is None else "true" if v else "false")
    elif t is list or t is tuple:
        out.append("[")
        for k, x in enumerate(v):
            if k:
                out.append(",")
            _compact(x, out)
        out.append("]")
    elif t is dict and all(type(k) is str for k in v):
        out.append("{")
        for k, (key, x) in enumerate(v.items()):
            out.append(',%s:' % _ascii_str(key) if k else '%s:' % _ascii_str(key))
            _compact(x, out)
        out.append("}")
    else:
        raise TypeError


def compact(v):
    """json.dumps(v, allow_nan=False) with no spaces, written without the
    json module for the plain types (dicts with string keys, lists,
    tuples, strings, integers, finite floats, booleans, None), by it
    otherwise (and its errors)."""
    out = []
    try:
        if _ascii_str is None:
            raise TypeError
        _compact(v, out)
        return "".join(out)
    except (TypeError, RecursionError):
        import json

        return json.dumps(v, allow_nan=False, separators=(",", ":"))


def _unbox(d):
    if len(d) == 1:
        if "$float" in d and d["$float"] in _FLOATS:
            return _FLOATS[d["$float"]]
        for k in ("$u64", "$int"):
            if k in d and isinstance(d[k], str):
                return int(d[k])
    return d


def loads(text):
    """JSON text (str or bytes) to Python, boxes unboxed."""
    box = (b'"$' if isinstance(text, (bytes, bytearray)) else '"$') in text
    v = _scan(text, box)
    if v is not None:
        return v[0]
    import json

    if box:
        return json.loads(text, object_hook=_unbox)
    return json.loads(text)


def _float_text(v):
    if v != v:
        return _BOX_OF["nan"]
    return _BOX_OF["inf" if v > 0 else "-inf"]


def _boxed(v):
    """v with non-finite floats boxed and number-like objects (numpy
    scalars) made ints and floats; TypeError names what JSON cannot hold."""
    import numbers

    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        f = float(v)
        return f if math.isfinite(f) else {"$float": "nan" if f != f else ("inf" if f > 0 else "-inf")}
    if isinstance(v, dict):
        return {k: _boxed(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_boxed(x) for x in v]
    tolist = getattr(v, "tolist", None)  # numpy arrays, without importing numpy
    if callable(tolist):
        return _boxed(tolist())
    raise TypeError("an object of type '%s' is not JSON" % type(v).__name__)


def dumps(v):
    """The JSON text of a function's value; TypeError or ValueError when it
    has none (an unserialisable object, an integer of over 4300 digits)."""
    t = type(v)
    if t is int:
        return int.__repr__(v)
    if t is float:
        return float.__repr__(v) if v - v == 0 else _float_text(v)
    try:
        return _encode(v)
    except (ValueError, TypeError):
        return _encode(_boxed(v))


def canonical(v):
    """The canonical JSON of v (coren-records(5)): sorted keys, no spaces,
    UTF-8, reals as Python's repr; what chunk lines hold."""
    import json

    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
