"""python3 -m coren.coproc [--kwargs] MODULE:FUNCTION | FILE.py:FUNCTION

The co-process side of swarm-run's protocol v2 (coren-records(5)):

    swarm-run --split x=1..10 --memo-chunk x=5 --coproc python3 -m coren.coproc mymod:f

Point lines are read in blocks and parsed in one call; fn(params, point)
(or fn(**params, **point) with --kwargs) runs for each; the answers of a
block are written and flushed together, each with its point's seq. The
function's own standard output (print, C code, child processes) goes to
standard error, so it can never be taken for an answer. An exception is an
error record for its point (type and message); a value that is not JSON is
one too (naming its type); NaN, the infinities and big integers are written
in coren's lossless form. A function that cannot be loaded is one "fatal"
record and exit 3: swarm-run stops, exit 3, as for a plugin.
"""

import functools
import importlib
import itertools
import os
import sys

from coren import _values

EXIT_USAGE = 2
EXIT_PLUGIN = 3
USAGE = "usage: python3 -m coren.coproc [--kwargs] MODULE:FUNCTION|FILE.py:FUNCTION\n"


def load(target):
    """The function named by MODULE:FUNCTION or FILE.py:FUNCTION (a dotted
    FUNCTION walks attributes). A file is loaded under its own name, not
    __main__, so its `if __name__ == "__main__":` block does not run."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise ValueError("'%s' is not MODULE:FUNCTION or FILE.py:FUNCTION" % target)
    if where.endswith(".py") or os.sep in where:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise FileNotFoundError("no such file '%s'" % where)
        import importlib.util as util  # only here: a module import needs none of it

        modname = os.path.splitext(os.path.basename(path))[0]
        sys.path.insert(0, os.path.dirname(path))
        spec = util.spec_from_file_location(modname, path)
        module = util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(where)
    fn = functools.reduce(getattr, name.split("."), module)
    fn = getattr(fn, "__coren_fn__", fn)  # a Sweep.wrap wrapper: its function
    if not callable(fn):
        raise TypeError("'%s' is a %s, not a function" % (target, type(fn).__name__))
    return fn


def _value_error(seq, point, exc):
    import json

    return _error(seq, "the value of point %s cannot be written: %s" % (json.dumps(point, default=repr, separators=(",", ":")), exc))


_encode_list = _values.encode_list


def _results(seq, values):
    """One "results" record for seqs seq, seq + 1, ...: the list in one
    call of the JSON encoder, value by value when that fails."""
    try:
        return '{"type":"results","seq":%d,"values":%s}\n' % (seq, _encode_list(values))
    except (TypeError, ValueError):
        return None


def compute(call, points):
    """fn's value for each point of a batch, and the (index, reason) of
    each failure (the exception's type and message; its value None): one
    loop in one try block, re-entered after a failure at the next point."""
    vals, failed = [], []
    append = vals.append
    while len(vals) < len(points):
        rest = points if not vals else itertools.islice(points, len(vals), None)
        try:
            for point in rest:
                append(call(point))
        except Exception as e:  # the point's failure, not ours
            failed.append((len(vals), "%s: %s" % (type(e).__name__, e)))
            append(None)
        except SystemExit as e:
            failed.append((len(vals), "SystemExit: %s" % (e.code,)))
            append(None)
    return vals, failed


def answer(call, batches):
    """The answer lines of a block's batches, (seq, [point, ...]) with
    consecutive seqs: a run of values as one "results" record (which also
    tells swarm-run this co-process reads "points" lines), a failure as an
    "error" record for its point."""
    out = []
    for seq, points in batches:
        vals, failed = compute(call, points)
        start = 0
        for k, reason in failed:
            if k > start:
                out.append(_run(seq + start, vals[start:k], points[start:k]))
            out.append(_error(seq + k, reason))
            start = k + 1
        if start == 0:
            out.append(_run(seq, vals, points))
        elif start < len(vals):
            out.append(_run(seq + start, vals[start:], points[start:]))
    return out


def _run(seq, values, points):
    return _results(seq, values) or _one_by_one(seq, values, points, _values.dumps)


def _error(seq, reason):
    return '{"type":"error","seq":%d,"reason":%s}\n' % (seq, _values.string(reason))


def _one_by_one(seq, values, points, dumps):
    """A run whose list the encoder refused: each value in coren's lossless
    form, a value that has none failing its point."""
    lines = []
    for k, v in enumerate(values):
        try:
            lines.append('{"type":"result","seq":%d,"value":%s}\n' % (seq + k, dumps(v)))
        except (TypeError, ValueError) as e:
            lines.append(_value_error(seq + k, points[k], e))
    return "".join(lines)


def encode(lines):
    """The answers as UTF-8; a value with a lone surrogate fails its point."""
    text = "".join(lines)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    parts = []
    for line in lines:
        try:
            parts.append(line.encode("utf-8"))
        except UnicodeEncodeError:
            rec = _values.loads(line.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
            n = len(rec.get("values", [None]))
            parts.append("".join(_error(rec["seq"] + k, "the value is not valid UTF-8 text")
                                 for k in range(n)).encode())
    return b"".join(parts)


def parse_block(block):
    """The batches of a block of "point" and "points" lines: (seq, [point,
    ...]) per run of consecutive seqs. One parse for the block, line by
    line only when it has a line that is not a record."""
    try:
        recs = _values.loads(b"[" + block.replace(b"\n", b",") + b"]")
    except ValueError:
        recs = None
    if recs is None or not all(type(r) is dict for r in recs):
        recs = []
        for line in block.split(b"\n"):
            line = line.strip()
            if not line:
                continue
            try:
                r = _values.loads(line)
                r["seq"]
                recs.append(r)
            except (ValueError, TypeError, KeyError):
                sys.stderr.write("coren.coproc: ignoring a line that is not a point record: %r\n" % line[:80])
    out = []
    for r in recs:
        seq, points = r["seq"], r["points"] if r.get("type") == "points" else [r["point"]]
        if out and out[-1][0] + len(out[-1][1]) == seq:  # one run: one batch
            out[-1][1].extend(points)
        else:
            out.append((seq, points))
    return out


def serve(call, fd_in, out):
    """Answers point lines from fd_in on out until EOF, a block at a time."""
    rest = b""
    while True:
        data = os.read(fd_in, 1 << 20)
        if not data:
            break
        data = rest + data
        end = data.rfind(b"\n")
        if end < 0:
            rest = data
            continue
        rest = data[end + 1:]
        block = data[:end].replace(b"\r", b"")
        out.write(encode(answer(call, parse_block(block))))
        out.flush()  # the flush rule: every line read is answered


def caller(fn, kwargs, params):
    if kwargs:
        return lambda point: fn(**params, **point)
    return functools.partial(fn, params)  # called in C: no frame of ours


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    kwargs = False
    while argv and argv[0].startswith("--"):
        if argv[0] == "--kwargs":
            kwargs = True
        elif argv[0] in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        else:
            sys.stderr.write("coren.coproc: error: unknown option '%s'\n%s" % (argv[0], USAGE))
            return EXIT_USAGE
        argv = argv[1:]
    if len(argv) != 1:
        sys.stderr.write(USAGE)
        return EXIT_USAGE
    # answers go to a copy of stdout; fd 1 becomes stderr for everything else
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        fn = load(argv[0])
        params = _values.loads(os.environ.get("SWARM_PARAMS") or "{}")
    except BaseException as e:  # an import may raise anything, SystemExit too
        reason = "cannot load '%s': %s: %s" % (argv[0], type(e).__name__, e)
        out.write(('{"type":"fatal","reason":%s}\n' % _values.string(reason)).encode())
        out.flush()
        if "SWARM_PARAMS" not in os.environ:  # else swarm-run says it, once
            sys.stderr.write("coren.coproc: error: %s\n" % reason)
        return EXIT_PLUGIN
    try:
        serve(caller(fn, kwargs, params), 0, out)
    except BrokenPipeError:
        pass
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
