#!/usr/bin/env python3
"""make check: the coren package against the build tree (TAP). The
environment names the build's swarm-run and libcoren (COREN_SWARM_RUN,
COREN_LIBCOREN) and PYTHONPATH its python/ directory."""

import json
import math
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
tmp = tempfile.mkdtemp(prefix="coren-pytest-")
os.environ["COREN_PYTEST_CACHE"] = os.path.join(tmp, "wrapped")

import coren  # noqa: E402
import pyfns  # noqa: E402
from coren import FnCost, MachCap, Sweep, SweepError, _values  # noqa: E402
from tap import main, test  # noqa: E402

CAP = {"type": "cap", "flops": 1e11, "mem_bw": 4e10, "ram_total": 16 * 10 ** 9, "ram_avail": 8 * 10 ** 9,
       "disk_read_bw": 1e9, "disk_write_bw": 5e8, "net_bw": 1.25e8, "net_latency": 0.01}


def cache(name):
    return os.path.join(tmp, name)


def coproc(lines, *args, env=None):
    """Runs python3 -m coren.coproc on input lines; (rc, stdout lines, stderr)."""
    e = dict(os.environ, SWARM_PARAMS='{"k":100}')
    e.update(env or {})
    p = subprocess.run([sys.executable, "-m", "coren.coproc", *args], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True, cwd=here, env=e)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines()], p.stderr


def answers(out):
    """The answers by seq: ("value", V) or ("error", reason), "results"
    records expanded."""
    by = {}
    for r in out:
        if r["type"] == "results":
            for k, v in enumerate(r["values"]):
                by[r["seq"] + k] = ("value", v)
        elif r["type"] == "result":
            by[r["seq"]] = ("value", r["value"])
        else:
            by[r["seq"]] = (r["type"], r.get("reason"))
    return by


def point(seq, **pt):
    return json.dumps({"type": "point", "seq": seq, "point": pt})


# ---- the seed README's examples ---------------------------------------------

@test
def seed_sort():
    """FnCost.sort(1_000_000, 64, 64_000_000).flops == 200_000_000 (seed README)"""
    assert FnCost.sort(1_000_000, 64, 64_000_000).flops == 200_000_000


@test
def cost_constructors():
    """FnCost constructors and combinators are libcoren's, exact integers"""
    assert FnCost.scan(64_000_000, 0).as_dict() == {"flops": 64_000_000, "mem_bytes": 64_000_000,
                                                    "peak_mem": 0, "result_bytes": 0}
    assert FnCost.hash(100).as_dict() == {"flops": 800, "mem_bytes": 100, "peak_mem": 256, "result_bytes": 32}
    assert FnCost.matmul(2, 3, 4).flops == 48
    assert FnCost.etl(10, 100, 5, 7).as_dict() == {"flops": 50, "mem_bytes": 1007, "peak_mem": 1000,
                                                   "result_bytes": 7}
    assert FnCost.copy(9).as_dict() == {"flops": 0, "mem_bytes": 18, "peak_mem": 0, "result_bytes": 9}
    a, b = FnCost.new(1, 2, 3, 4), FnCost.new(10, 20, 1, 40)
    assert (a + b).as_dict() == {"flops": 11, "mem_bytes": 22, "peak_mem": 3, "result_bytes": 40}
    assert a.then(b) == a + b
    assert a.par(b).as_dict() == {"flops": 10, "mem_bytes": 22, "peak_mem": 4, "result_bytes": 44}
    assert a.repeat(3).as_dict() == {"flops": 3, "mem_bytes": 6, "peak_mem": 3, "result_bytes": 12}
    big = FnCost.new(2 ** 64 - 1, 0, 0, 0).repeat(2)
    assert big.flops == 2 ** 64 - 1 and type(big.flops) is int  # saturates, exactly
    assert FnCost.parse("scan(64e6,0) then hash(64MB)") == FnCost.scan(64_000_000) + FnCost.hash(64_000_000)


@test
def cost_matches_tool():
    """FnCost agrees with coren-cost(1) on the same expression"""
    tool = os.path.join(os.path.dirname(os.environ["COREN_SWARM_RUN"]), "coren-cost")
    rec = json.loads(subprocess.run([tool, "sort(1e6,64,64e6) par matmul(8,8,8,0) repeat 3"],
                                    capture_output=True, text=True, check=True).stdout)
    c = FnCost.sort(1_000_000, 64, 64_000_000).par(FnCost.matmul(8, 8, 8).repeat(3))
    assert all(rec[k] == v for k, v in c.as_dict().items()), (rec, c)


@test
def cost_refuses():
    """FnCost refuses negative, fractional and oversized numbers"""
    for bad in (-1, 1.5, 2 ** 64, "3"):
        try:
            FnCost.scan(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % (bad,))


@test
def verdict_from_cap():
    """cap.verdict(cost): score, action, times, str, truth, ttl, buffers, budget"""
    cap = MachCap.from_record(CAP)
    assert cap.flops == 1e11 and cap.mem_bw == 4e10
    v = cap.verdict(FnCost.sort(1_000_000, 64, 64_000_000))
    assert v.action == "compute" and not v and v.bottleneck == "memory"
    assert math.isclose(v.t_compute, 1_280_000_000 / 4e10)
    assert math.isclose(v.t_fetch, 0.01 + 64e6 / 1.25e8) and math.isclose(v.t_store, 64e6 / 5e8)
    assert math.isclose(v.score, v.t_compute - v.t_fetch)
    assert str(v) == "compute (saves %.3fs)" % (v.t_fetch - v.t_compute), str(v)
    f = cap.verdict(FnCost.new(10 ** 13, 0, 0, 1000))
    assert f and f.action == "fetch" and str(f).startswith("fetch (saves ")
    forced = cap.verdict(FnCost.new(1, 1, 10 ** 12, 1))  # more RAM than there is
    assert forced.score == math.inf and forced.action == "fetch" and str(forced) == "fetch (ram)"
    assert 0.1 * 60 <= v.suggest_ttl(60) <= 100 * 60
    assert cap.etl_buffer_bytes(100) == 400_000_000
    w, q, fits = cap.compute_budget(2.0, v)
    assert (w, q, fits) == (200_000_000_000, 80_000_000_000, True)


@test
def verdict_matches_tool():
    """a verdict agrees with coren-verdict(1) on the same cap and cost"""
    capfile = os.path.join(tmp, "cap.json")
    with open(capfile, "w") as f:
        json.dump(CAP, f)
    tool = os.path.join(os.path.dirname(os.environ["COREN_SWARM_RUN"]), "coren-verdict")
    rec = json.loads(subprocess.run([tool, "--cap", capfile], input=json.dumps(
        dict(type="cost", **FnCost.sort(1_000_000, 64, 64_000_000).as_dict())), capture_output=True,
        text=True, check=True).stdout)
    v = MachCap.from_record(CAP).verdict(FnCost.sort(1_000_000, 64, 64_000_000))
    assert rec["action"] == v.action and rec["score"] == v.score and rec["bottleneck"] == v.bottleneck


@test
def machcap_read():
    """MachCap.read() reads the probe's cache (coren-probe's)"""
    probe = os.path.join(os.path.dirname(os.environ["COREN_SWARM_RUN"]), "coren-probe")
    d = os.path.join(tmp, "capcache")
    subprocess.run([probe, "--quick", "--cache-dir", d], capture_output=True, check=True)
    cap = MachCap.read(cache_dir=d)
    assert cap.flops > 0 and cap.mem_bw > 0 and cap.fingerprint
    assert isinstance(cap.verdict(FnCost.scan(1000)).score, float)


# ---- the co-process adapter ---------------------------------------------------

@test
def coproc_answers():
    """coren.coproc answers each point with its seq, params from SWARM_PARAMS"""
    rc, out, _ = coproc([point(7, a=1, b=2), point(8, a=3, b=4)], "pyfns:add")
    assert rc == 0 and out == [{"type": "results", "seq": 7, "values": [103, 107]}], out
    rc, out, _ = coproc([json.dumps({"type": "points", "seq": 3, "points": [{"a": 1, "b": 1}, {"a": 2, "b": 2}]}),
                         point(9, a=0, b=1)], "pyfns:add")
    assert answers(out) == {3: ("value", 102), 4: ("value", 104), 9: ("value", 101)}, out


@test
def coproc_kwargs_and_file():
    """--kwargs calls fn(**params, **point); FILE.py:FUNCTION loads a file"""
    rc, out, _ = coproc([point(1, a=2, b=3)], "--kwargs", os.path.join(here, "pyfns.py") + ":kw")
    assert rc == 0 and answers(out) == {1: ("value", 106)}, out


@test
def coproc_print_goes_to_stderr():
    """print() and writes to fd 1 in the function go to stderr, never into answers"""
    rc, out, err = coproc([point(1, x=5)], "pyfns:noisy")
    assert rc == 0 and answers(out) == {1: ("value", 5)}, out
    assert "printed by the function" in err and "written to fd 1" in err


@test
def coproc_exception_is_error_record():
    """an exception is an error record with its type and message; a set names its type"""
    rc, out, _ = coproc([point(1, x=1), point(2, x=2), point(3, x=3)], "pyfns:fails")
    a = answers(out)
    assert rc == 0 and a[1] == ("value", 1) and a[2] == ("error", "ValueError: x is two"), out
    assert a[3][0] == "error" and "'set'" in a[3][1] and '{"x":3}' in a[3][1]


@test
def coproc_lossless_values():
    """NaN, infinities, big integers are written in coren's lossless form"""
    rc, out, _ = coproc([point(i + 1, x=i) for i in range(10)], "pyfns:special")
    a = answers(out)
    vals = [a[i + 1][1] for i in range(10)]
    assert vals[:5] == [{"$float": "nan"}, {"$float": "inf"}, {"$float": "-inf"}, 2 ** 70, -(2 ** 80)], vals
    assert vals[5] == [1.5, {"$float": "nan"}, "é"] and vals[6] == {"k": [1, 2]}
    assert vals[7:] == [0.1, True, None]


@test
def coproc_cannot_load():
    """a module that cannot be imported: one fatal record, exit 3, before any point"""
    rc, out, err = coproc([point(1, x=1)], "no_such_module:f", env={"SWARM_PARAMS": "{}"})
    assert rc == 3 and len(out) == 1 and out[0]["type"] == "fatal", out
    assert "no_such_module" in out[0]["reason"] and "ModuleNotFoundError" in out[0]["reason"]
    rc, out, _ = coproc([point(1, x=1)], "pyfns:no_such_function")
    assert rc == 3 and "no_such_function" in out[0]["reason"]


# ---- Sweep -----------------------------------------------------------------------

@test
def sweep_quick_start():
    """swarm-memo's quick start, translated: run, then all cached"""
    def_split = {"strat": ["aaa", "bb"], "s": [1, 2, 3, 4]}
    sweep = Sweep(pyfns.quick, cache=cache("quick"), memo_chunk={"strat": 1, "s": 3}, exec_chunk=2)
    out, diag = sweep.run({"alpha": 0.4}, def_split)
    assert [p for p, _ in out] == [{"s": s, "strat": t} for s in [1, 2, 3, 4] for t in ["aaa", "bb"]]
    assert out[0][1] == {"strat": "aaa", "s": 1, "value": 4}, out[0]
    assert diag["chunks_total"] == 4 and diag["chunks_executed"] == 4
    out2, diag2 = sweep.run({"alpha": 0.4}, def_split)
    assert out2 == out and diag2["chunks_cached"] == 4 and diag2["points_executed"] == 0


@test
def sweep_grid_order_and_values():
    """results in grid order (axis_order, last fastest) as Python objects, boxes unboxed"""
    sweep = Sweep(pyfns.special, cache=cache("special"), memo_chunk={"x": 4})
    out, diag = sweep.run({}, {"x": list(range(10))})
    assert [p["x"] for p, _ in out] == list(range(10))
    v = [v for _, v in out]
    assert math.isnan(v[0]) and v[1] == math.inf and v[2] == -math.inf and v[3] == 2 ** 70
    assert v[4] == -(2 ** 80) and v[5][0] == 1.5 and math.isnan(v[5][1]) and v[6] == {"k": [1, 2]}
    sw = Sweep(pyfns.add, cache=cache("order"), memo_chunk={"a": 2, "b": 2}, axis_order=["b", "a"])
    out, _ = sw.run({"k": 1}, {"a": [1, 2], "b": [10, 20, 30]})
    assert out == [({"a": a, "b": b}, a + b + 1) for b in [10, 20, 30] for a in [1, 2]], out


@test
def sweep_shares_cli_cache():
    """a sweep and swarm-run share one cache: the CLI reads what Sweep wrote"""
    sw = Sweep(pyfns.add, cache=cache("shared"), memo_chunk={"a": 2, "b": 2})
    sw.run({}, {"a": [1, 2], "b": [3, 4]})
    files = [f for _, _, fs in os.walk(cache("shared")) for f in fs if f.endswith(".zst")]
    assert len(files) == 1
    plan = sw.plan({}, {"a": [1, 2], "b": [3, 4]})
    assert len(plan) == 1 and plan[0]["cached"] is True and plan[0]["path"].endswith(files[0])


@test
def sweep_identity_covers_module():
    """a sweep's chunk ids cover its function's module file: an edit computes again"""
    d = cache("edited")
    os.makedirs(d)
    with open(os.path.join(d, "edmod.py"), "w") as f:
        f.write("def f(params, point):\n    return point['x'] * 2\n")
    sys.path.insert(0, d)
    try:
        import edmod

        sw = Sweep(edmod.f, cache=os.path.join(d, "c"), memo_chunk={"x": 2})
        out, diag = sw.run({}, {"x": [1, 2]})
        assert diag["chunks_executed"] == 1 and out == [({"x": 1}, 2), ({"x": 2}, 4)], (out, diag)
        _, diag = sw.run({}, {"x": [1, 2]})
        assert diag["chunks_cached"] == 1, diag
        with open(os.path.join(d, "edmod.py"), "a") as f:
            f.write("# an edit\n")
        _, diag = sw.run({}, {"x": [1, 2]})
        assert diag["chunks_executed"] == 1, diag
    finally:
        sys.path.remove(d)


@test
def sweep_failures_raise():
    """failures raise one SweepError with the error records; partial results stay cached"""
    sw = Sweep(pyfns.fails, cache=cache("fails"), memo_chunk={"x": 2})
    try:
        sw.run({}, {"x": [0, 1, 2, 3, 4, 5]})
    except SweepError as e:
        assert [r["point"] for r in e.errors] == [{"x": 2}, {"x": 3}], e.errors
        assert e.errors[0]["reason"] == "ValueError: x is two"
        assert [p["x"] for p, _ in e.results] == [0, 1, 4, 5]
        assert e.diag["points_failed"] == 2
    else:
        raise AssertionError("no SweepError")
    diag = sw.run_streaming({}, {"x": [0, 1, 4, 5]})
    assert diag["chunks_cached"] == 2 and diag["points_executed"] == 0, diag


@test
def sweep_streaming():
    """run_streaming computes and caches, returning only diag"""
    sw = Sweep(pyfns.add, cache=cache("stream"), memo_chunk={"a": 5, "b": 5})
    diag = sw.run_streaming({}, {"a": range(10), "b": range(10)})
    assert diag["chunks_executed"] == 4 and diag["points_executed"] == 100
    out, diag = sw.run({}, {"a": range(10), "b": range(10)})
    assert diag["chunks_cached"] == 4 and out[-1] == ({"a": 9, "b": 9}, 18)


@test
def sweep_wrap():
    """@sweep.wrap: lists are axes; other keywords and defaults are params"""
    out, diag = pyfns.wrapped(a=[1, 2], b=range(3), k=10)
    assert out == [({"a": a, "b": b}, a * b + 10) for a in [1, 2] for b in range(3)]
    out, _ = pyfns.wrapped(a=[2], b=[5])  # k's default
    assert out == [({"a": 2, "b": 5}, 10)]


@test
def sweep_refuses_lambda():
    """a lambda cannot run in a co-process: refused at once, clearly"""
    try:
        Sweep(lambda p, q: 1)
    except TypeError as e:
        assert "module level" in str(e)
    else:
        raise AssertionError("accepted a lambda")


@test
def sweep_unloadable():
    """a function the co-process cannot import: SweepError naming it"""
    sw = Sweep(pyfns.add, cache=cache("unload"), memo_chunk={"a": 1, "b": 1})
    sw._where = "no_such_module:add"
    try:
        sw.run({}, {"a": [1], "b": [2]})
    except SweepError as e:
        assert "no_such_module" in str(e), str(e)
    else:
        raise AssertionError("no SweepError")


@test
def sweep_results_lazy():
    """Results (points made as reached) equals the eager list: index, slices, iteration, NaN"""
    from coren import sweep as S

    split = {"b": [1.5, 2, "x,\"value\":1}"], "a": ["é", None, [1, {"k": 2}]], "c": [0]}
    order = ["b", "a", "c"]
    vals = [math.nan if i == 4 else i * 2 ** 70 for i in range(9)]
    eager = [({"a": a, "b": b, "c": 0}, vals[3 * i + j]) for i, b in enumerate(split["b"])
             for j, a in enumerate(split["a"])]
    res = S.Results(split, order, vals)
    assert len(res) == 9 and list(res) == eager[:4] + [res[4]] + eager[5:] and math.isnan(res[4][1])
    assert [list(p) for p, _ in res] == [["a", "b", "c"]] * 9  # keys in canonical order
    assert all(res[i] == eager[i] and res[i - 9] == eager[i] for i in range(9) if i != 4)
    assert res[1:7:2] == eager[1:7:2] and res[::-1][0] == eager[8] and res.index(eager[7]) == 7
    assert eager[3] in res and res.count(eager[0]) == 1 and list(res.points()) == [p for p, _ in eager]
    vals[4] = 8 * 2 ** 70
    eager[4] = (eager[4][0], vals[4])
    assert res == eager and eager == res and res != eager[:8] and res == S.Results(split, order, list(vals))
    assert repr(res) == repr(eager) and res != eager[:1] + [({"a": 1}, 0)] * 8
    for bad in (9, -10):
        try:
            res[bad]
        except IndexError:
            pass
        else:
            raise AssertionError("res[%d]" % bad)
    one = S.Results({}, [], [7])
    assert list(one) == [({}, 7)] and one[0] == ({}, 7)


@test
def sweep_values_reader():
    """swarm-run --values' records: runs joined across pieces, gaps as errors, boxes unboxed"""
    from coren import sweep as S

    split, order = {"x": list(range(6))}, ["x"]
    out = (b'{"type":"values","index":0,"values":[0,{"$float":"nan"}]}\n'
           b'{"type":"values","index":2,"values":[4,"a\\nb"]}\n'
           b'{"type":"error","point":{"x":4},"reason":"no"}\n'
           b'{"type":"values","index":5,"values":[2361183241434822606848]}\n{"type":"diag","points_failed":1}\n')
    for cut in (1, 7, 60, len(out) - 3):
        r = S._Reader()
        r.feed(out[:cut])
        r.feed(out[cut:])
        res, errs, diag = r.finish(split, order)
        assert [p["x"] for p, _ in res] == [0, 1, 2, 3, 5] and math.isnan(res[1][1]), res
        assert [v for _, v in res][2:] == [4, "a\nb", 2 ** 71] and diag == {"type": "diag", "points_failed": 1}
        assert errs == [{"type": "error", "point": {"x": 4}, "reason": "no"}]
    r = S._Reader()
    r.feed(b'{"type":"values","index":0,"values":[1,2]}\n{"type":"values","index":2,"values":[3]}\n')
    res, errs, _ = r.finish({"x": [7, 8, 9]}, ["x"])
    assert isinstance(res, S.Results) and res == [({"x": 7}, 1), ({"x": 8}, 2), ({"x": 9}, 3)] and not errs


@test
def values_roundtrip():
    """_values: dumps/loads round-trip NaN, infinities and big integers"""
    for v in (math.inf, -math.inf, 2 ** 100, [1, {"a": -math.inf}], "x", 0.1):
        assert _values.loads(_values.dumps(v)) == v
    assert math.isnan(_values.loads(_values.dumps(math.nan)))
    assert _values.loads('{"$u64":"18446744073709551615"}') == 2 ** 64 - 1


@test
def values_c_json():
    """_values parses and writes through json's C scanner and encoder exactly as json does"""
    def same(a, b):
        return repr(a) == repr(b)  # NaN equal to NaN, 1 not 1.0

    texts = ['{"a":[1,2.5,-0.0,1e400,-1e400,123456789012345678901234567890]}', ' \t[true,false,null]\r\n',
             '{"$float":"nan"}', '[{"$u64":"18446744073709551615"},{"$int":"-99999999999999999999"},{"$float":"x"}]',
             '"\\ud800\\u00e9\u00e9"', "NaN", "[Infinity]", '{"$x":1, "k":{"$float":"-inf"}}', "1 2", "[1,]", "",
             "\ufeff[1]", '"a\tb"', "[1] x", '{"a":1}{', "-", '"\\x"', "[" * 50 + "]" * 50]
    for t in texts + [t.encode("utf-8", "surrogatepass") for t in texts] + [b"\xef\xbb\xbf[1]", b"\xff"]:
        box = (b'"$' if isinstance(t, bytes) else '"$') in t
        try:
            want = json.loads(t, object_hook=_values._unbox) if box else json.loads(t)
        except ValueError:
            want = ValueError
        try:
            got = _values.loads(t)
        except ValueError:
            got = ValueError
        assert same(got, want), (t, got, want)
    for v in ([1, "\u00e9\u2028\n\"", None, True, 2 ** 70, -0.0, 1e300, (1, [2]), {"k": {1: 2, "z": [3]}}, []],
              [math.nan], [math.inf], [{1, 2}], [object()], [{(1, 2): 3}], ["\ud800"]):
        try:
            want = json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as e:
            want = type(e)
        try:
            got = _values.encode_list(v)
        except (TypeError, ValueError) as e:
            got = type(e)
        assert got == want, (v, got, want)
    assert _values.string("\u00e9\"\n") == json.dumps("\u00e9\"\n")


@test
def values_compact():
    """_values.compact (a sweep's experiment, written before json is imported) is json.dumps'"""
    for v in ({"a": [1, 2.5, "\u00e9\u2028\"\\\n", None, True, False, (1, 2), 2 ** 70, -0.0, 1e300]},
              {"k": {"x": [], "y": {}}}, [], 0, {1: 2, "b": [3]}, {"r": range(2)}):
        try:
            want = json.dumps(v, allow_nan=False, separators=(",", ":"))
        except TypeError:
            want = TypeError
        try:
            got = _values.compact(v)
        except TypeError:
            got = TypeError
        assert got == want, (v, got, want)
    for bad in (math.nan, {"a": [math.inf]}):
        try:
            _values.compact(bad)
        except ValueError:
            pass
        else:
            raise AssertionError("compact(%r)" % (bad,))
    # and a sweep gets that far without the json module (it imports re)
    r = subprocess.run([sys.executable, "-c", "import sys; s = set(sys.modules); import coren; coren.Sweep; "
                        "print(sorted({'json', 're'} & (set(sys.modules) - s)))"],
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.path.dirname(coren.__path__[0])))
    assert r.stdout == "[]\n", r


if __name__ == "__main__":
    try:
        status = main()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(status)
