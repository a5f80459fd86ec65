"""FnCost, MachCap and Verdict: coren's cost model from Python, computed by
libcoren itself (ctypes), never by a second copy of its formulas
(coren/cost.h, cap.h, verdict.h; coren-python(7)).

    >>> FnCost.sort(1_000_000, 64, 64_000_000).flops
    200000000
    >>> v = MachCap.read().verdict(FnCost.scan(64_000_000, 0))
    >>> print(v)                      # e.g. compute (saves 0.712s)
"""

import ctypes
import json
import math

from coren import _paths

_U64 = ctypes.c_uint64
_MAX = (1 << 64) - 1


class _Cost(ctypes.Structure):
    _fields_ = [("flops", _U64), ("mem_bytes", _U64), ("peak_mem", _U64), ("result_bytes", _U64)]


class _Verdict(ctypes.Structure):
    _fields_ = [("score", ctypes.c_double), ("action", ctypes.c_int),
                ("bottleneck", ctypes.c_char_p), ("reason", ctypes.c_char_p),
                ("t_compute", ctypes.c_double), ("t_fetch", ctypes.c_double),
                ("t_store", ctypes.c_double)]


class _ProbeOptions(ctypes.Structure):
    _fields_ = [("cache_dir", ctypes.c_char_p), ("max_age", ctypes.c_double),
                ("refresh", ctypes.c_bool), ("quick", ctypes.c_bool), ("no_gpu", ctypes.c_bool)]


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("where", ctypes.c_char * 256), ("msg", ctypes.c_char * 1024)]


# struct coren_cap is ~1 KiB; its fields are read through its record, so
# only its size matters here: this is generous.
_CapBuf = ctypes.c_uint64 * 1024

_lib = None


def _c():
    """libcoren, its signatures declared once."""
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(_paths.libcoren())
    for name, args in (("new", [_U64] * 4), ("scan", [_U64] * 2), ("sort", [_U64] * 3),
                       ("hash", [_U64]), ("matmul", [_U64] * 4), ("etl", [_U64] * 4),
                       ("copy", [_U64]), ("then", [_Cost, _Cost]), ("par", [_Cost, _Cost]),
                       ("repeat", [_Cost, _U64])):
        f = getattr(lib, "coren_cost_" + name)
        f.argtypes, f.restype = args, _Cost
    lib.coren_cost_parse.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Cost), ctypes.POINTER(ctypes.c_void_p),
                                     ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(_Error)]
    lib.coren_cost_parse.restype = ctypes.c_int
    lib.coren_cap_get.argtypes = [ctypes.POINTER(_ProbeOptions), ctypes.c_void_p,
                                  ctypes.POINTER(ctypes.c_int), ctypes.POINTER(_Error)]
    lib.coren_cap_get.restype = ctypes.c_int
    lib.coren_cap_from_json.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(_Error)]
    lib.coren_cap_from_json.restype = ctypes.c_int
    lib.coren_cap_to_record.argtypes = [ctypes.c_void_p]
    lib.coren_cap_to_record.restype = ctypes.c_void_p
    lib.coren_cap_release.argtypes = [ctypes.c_void_p]
    lib.coren_cap_release.restype = None
    lib.coren_json_parse.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_Error)]
    lib.coren_json_parse.restype = ctypes.c_void_p
    lib.coren_json_dumps.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.coren_json_dumps.restype = ctypes.c_void_p
    lib.coren_verdict_decide.argtypes = [ctypes.POINTER(_Cost), ctypes.c_void_p, ctypes.POINTER(_Verdict)]
    lib.coren_verdict_decide.restype = None
    lib.coren_verdict_action_name.argtypes = [ctypes.c_int]
    lib.coren_verdict_action_name.restype = ctypes.c_char_p
    lib.coren_verdict_etl_buffer_bytes.argtypes = [ctypes.c_void_p, _U64]
    lib.coren_verdict_etl_buffer_bytes.restype = _U64
    lib.coren_verdict_suggest_ttl.argtypes = [ctypes.POINTER(_Verdict), ctypes.c_double]
    lib.coren_verdict_suggest_ttl.restype = ctypes.c_double
    lib.coren_verdict_compute_budget.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.POINTER(_Verdict),
                                                 ctypes.POINTER(_U64), ctypes.POINTER(_U64),
                                                 ctypes.POINTER(ctypes.c_bool)]
    lib.coren_verdict_compute_budget.restype = None
    _lib = lib
    return lib


def _libc_free(ptr):
    ctypes.CDLL(None).free(ctypes.c_void_p(ptr))


def _json_delete(ptr):
    """json_decref() of a new json_t (refcount 1): jansson's json_delete."""
    if ptr:
        j = ctypes.CDLL("libjansson.so.4")
        j.json_delete.argtypes = [ctypes.c_void_p]
        j.json_delete(ctypes.c_void_p(ptr))


class CorenError(Exception):
    """An error libcoren reported (its message)."""


def _u64(name, x):
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= _MAX:
        raise ValueError("%s must be an integer in 0..2^64-1, not %r" % (name, x))
    return x


class FnCost:
    """W (flops), Q (mem_bytes), M (peak_mem), R (result_bytes): exact
    integers, saturating at 2^64-1, as coren-cost(1) computes them."""

    __slots__ = ("flops", "mem_bytes", "peak_mem", "result_bytes")

    def __init__(self, flops=0, mem_bytes=0, peak_mem=0, result_bytes=0):
        self.flops, self.mem_bytes = _u64("flops", flops), _u64("mem_bytes", mem_bytes)
        self.peak_mem, self.result_bytes = _u64("peak_mem", peak_mem), _u64("result_bytes", result_bytes)

    @classmethod
    def _of(cls, c):
        return cls(c.flops, c.mem_bytes, c.peak_mem, c.result_bytes)

    def _c(self):
        return _Cost(self.flops, self.mem_bytes, self.peak_mem, self.result_bytes)

    @classmethod
    def _make(cls, name, *args):
        return cls._of(getattr(_c(), "coren_cost_" + name)(*[_u64(name, a) for a in args]))

    @classmethod
    def new(cls, w, q, m, r):
        return cls._make("new", w, q, m, r)

    @classmethod
    def scan(cls, nb, r=0):
        return cls._make("scan", nb, r)

    @classmethod
    def sort(cls, n, b, r=0):
        return cls._make("sort", n, b, r)

    @classmethod
    def hash(cls, nb):
        return cls._make("hash", nb)

    @classmethod
    def matmul(cls, m, n, k, r=0):
        return cls._make("matmul", m, n, k, r)

    @classmethod
    def etl(cls, rows, rb, fpr, r=0):
        return cls._make("etl", rows, rb, fpr, r)

    @classmethod
    def copy(cls, size):
        return cls._make("copy", size)

    @classmethod
    def parse(cls, expr):
        """A cost expression, as coren-cost(1) reads it."""
        out, err, name, col = _Cost(), _Error(), ctypes.c_void_p(), ctypes.c_size_t()
        rc = _c().coren_cost_parse(expr.encode(), ctypes.byref(out), ctypes.byref(name), ctypes.byref(col),
                                   ctypes.byref(err))
        if name.value:
            _libc_free(name.value)
        if rc:
            raise CorenError("%s (at column %d)" % (err.msg.decode(), col.value))
        return cls._of(out)

    def then(self, other):
        """self, then other: W and Q add up, M the larger, R other's."""
        return FnCost._of(_c().coren_cost_then(self._c(), other._c()))

    __add__ = then

    def par(self, other):
        return FnCost._of(_c().coren_cost_par(self._c(), other._c()))

    def repeat(self, k):
        return FnCost._of(_c().coren_cost_repeat(self._c(), _u64("k", k)))

    def __eq__(self, other):
        return isinstance(other, FnCost) and self.as_dict() == other.as_dict()

    def __hash__(self):
        return hash(tuple(self.as_dict().values()))

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        return "FnCost(flops=%d, mem_bytes=%d, peak_mem=%d, result_bytes=%d)" % (
            self.flops, self.mem_bytes, self.peak_mem, self.result_bytes)


class Verdict:
    """Compute here or fetch a stored result (coren-verdict(1)): score
    (seconds fetching saves; +-inf when forced, nan for none), action,
    bottleneck, reason, t_compute, t_fetch, t_store. True when fetching is
    better."""

    def __init__(self, v, cost, cap):
        self._v, self.cost, self._cap = v, cost, cap
        self.score = v.score
        self.action = _c().coren_verdict_action_name(v.action).decode()
        self.bottleneck = v.bottleneck.decode() if v.bottleneck else None
        self.reason = v.reason.decode() if v.reason else None
        self.t_compute, self.t_fetch, self.t_store = v.t_compute, v.t_fetch, v.t_store

    def __bool__(self):
        return self.action == "fetch"

    def __str__(self):
        if math.isfinite(self.score):
            return "%s (saves %.3fs)" % (self.action, abs(self.score))
        return "%s (%s)" % (self.action, self.reason or "forced")

    def __repr__(self):
        return "<Verdict %s score=%r bottleneck=%s>" % (self, self.score, self.bottleneck)

    def suggest_ttl(self, base):
        """A cache time-to-live: base scaled by t_compute / t_fetch, the
        factor clamped to [0.1, 100]."""
        return _c().coren_verdict_suggest_ttl(ctypes.byref(self._v), float(base))


class MachCap:
    """What this machine can do (coren-probe(1)): flops, mem_bw, ram_avail,
    disk and network figures, as attributes and in .record."""

    def __init__(self):
        self._buf = _CapBuf()
        self.record = {}

    def __del__(self):
        if _lib is not None and getattr(self, "record", None):
            _lib.coren_cap_release(self._buf)

    def _fill(self):
        lib = _c()
        rec = lib.coren_cap_to_record(self._buf)
        text = lib.coren_json_dumps(rec, 0)
        try:
            self.record = json.loads(ctypes.string_at(text).decode())
        finally:
            _libc_free(text)
            _json_delete(rec)
        return self

    @classmethod
    def read(cls, max_age=0.0, cache_dir=None, refresh=False, quick=False):
        """The probe's cached figures (measured and cached first if there
        are none: the same cache coren-probe uses)."""
        cap, err, src = cls(), _Error(), ctypes.c_int()
        opt = _ProbeOptions(cache_dir.encode() if cache_dir else None, float(max_age), refresh, quick, True)
        if _c().coren_cap_get(ctypes.byref(opt), cap._buf, ctypes.byref(src), ctypes.byref(err)):
            raise CorenError(err.msg.decode())
        return cap._fill()

    @classmethod
    def from_record(cls, rec):
        """A cap record (dict or JSON text), as coren-probe writes it."""
        text = (rec if isinstance(rec, str) else json.dumps(rec)).encode()
        lib, cap, err = _c(), cls(), _Error()
        j = lib.coren_json_parse(text, len(text), ctypes.byref(err))
        if not j:
            raise CorenError(err.msg.decode())
        try:
            if lib.coren_cap_from_json(j, cap._buf, ctypes.byref(err)):
                raise CorenError(err.msg.decode())
        finally:
            _json_delete(j)
        return cap._fill()

    def __getattr__(self, name):
        rec = self.__dict__.get("record") or {}
        if name in rec:
            return rec[name]
        raise AttributeError(name)

    def verdict(self, cost):
        v = _Verdict()
        _c().coren_verdict_decide(ctypes.byref(cost._c()), self._buf, ctypes.byref(v))
        return Verdict(v, cost, self)

    def etl_buffer_bytes(self, row_bytes):
        """Bytes of rows to stream through memory at a time (coren/verdict.h)."""
        return _c().coren_verdict_etl_buffer_bytes(self._buf, _u64("row_bytes", row_bytes))

    def compute_budget(self, seconds, verdict=None):
        """(flops, mem_bytes, fits): the work that fits in seconds here, and
        whether verdict's cost does."""
        w, q, fits = _U64(), _U64(), ctypes.c_bool()
        v = ctypes.byref(verdict._v if verdict is not None else _Verdict())
        _c().coren_verdict_compute_budget(self._buf, float(seconds), v, ctypes.byref(w), ctypes.byref(q),
                                          ctypes.byref(fits))
        return w.value, q.value, bool(fits.value) if verdict is not None else None

    def __repr__(self):
        return "<MachCap %s flops=%s mem_bw=%s>" % (self.record.get("host"), self.record.get("flops"),
                                                    self.record.get("mem_bw"))
