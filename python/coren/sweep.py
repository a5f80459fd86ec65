"""coren.Sweep: swarm-memo's API over swarm-run (coren-python(7)).

    sweep = coren.Sweep(f, memo_chunk={"a": 10, "b": 100})
    results, diag = sweep.run({"k": 1}, {"a": range(100), "b": range(1000)})

swarm-run plans the chunks, reads the cached ones and runs the missing
points in co-processes (coren.coproc's main), so a sweep and the
command line share one cache and one chunk format. Results come back in
grid order as (point, value) pairs: swarm-run --values writes the values
alone, parsed a piece at a time in one call each while it runs, and the
points are the grid's own, made as they are reached (Results).
"""

import gc
import os
import sys
from _collections_abc import Sequence  # collections.abc's, loaded at start

from coren import _paths, _values

# The co-processes run coren.coproc's main by -c, not -m: -m loads runpy
# (importlib.util, contextlib, collections), 4 ms of each co-process's
# start, which a cold sweep waits for. swarm-run's function identity
# knows this program (it names coren.coproc): the module's file is hashed
# as for -m.
_COPROC = "import sys; from coren.coproc import main; sys.exit(main())"


class SweepError(RuntimeError):
    """Points failed: .errors holds their error records ({"point", "reason"}),
    .results the (point, value) pairs that succeeded, .diag the counters.
    Chunks whose points all succeeded are cached."""

    def __init__(self, message, errors=(), results=(), diag=None):
        super().__init__(message)
        self.errors = list(errors)
        self.results = list(results)
        self.diag = diag or {}


def _target(fn):
    """MODULE:QUALNAME (or FILE.py:QUALNAME for __main__) that a co-process
    imports to find fn again, checked here."""
    mod, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not mod or not name or "<" in name:
        raise TypeError("coren.Sweep: %r cannot be found by name in a co-process: "
                        "define it at module level (def, not lambda)" % (fn,))
    module = sys.modules.get(mod)
    if mod == "__main__":
        path = getattr(module, "__file__", None)
        if not path:
            raise TypeError("coren.Sweep: a function of an interactive session cannot "
                            "run in a co-process: put it in a module")
        where = os.path.abspath(path)
    else:
        where = mod
    found = module  # a loop, not functools.reduce: functools costs a start 3 ms
    for part in name.split(".") if module else ():
        found = getattr(found, part, None)
    if found is not fn and getattr(found, "__coren_fn__", None) is not fn:
        raise TypeError("coren.Sweep: %s:%s is not %r" % (mod, name, fn))
    return "%s:%s" % (where, name)


def _lists(split):
    return {str(k): list(v) for k, v in split.items()}


class Sweep:
    """A function over grids, memoized in swarm-run's chunk cache.

    fn(params, point) -> value, or fn(**params, **point) with kwargs=True
    (what wrap() does); fn must be importable by name (module level).
    cache: the chunk directory (None: swarm-run's default,
    ~/.cache/coren/chunks). memo_chunk: points per chunk along each axis.
    exec_chunk: points per job ('auto' or an int). workers: processes
    (None: one per core). axis_order: the grid's order (default: axes by
    name), last axis fastest. version: part of every chunk id."""

    def __init__(self, fn, cache=None, memo_chunk=None, exec_chunk="auto", workers=None,
                 axis_order=None, version="v1", kwargs=False, retries=0, timeout=None,
                 fn_id=None):
        self.fn = fn
        self.cache = cache
        self.memo_chunk = dict(memo_chunk or {})
        self.exec_chunk = exec_chunk
        self.workers = workers
        self.axis_order = list(axis_order) if axis_order else None
        self.version = version
        self.kwargs = kwargs
        self.retries = retries
        self.timeout = timeout
        self.fn_id = fn_id
        self._where = None  # found at the first run: a decorator binds the name later
        name = getattr(fn, "__qualname__", "")
        if "<" in name:
            _target(fn)  # a lambda or a local function: refused now

    # ---- the experiment swarm-run reads ----------------------------------

    def _order(self, split):
        order = self.axis_order or sorted(split)
        if sorted(order) != sorted(split):
            raise ValueError("axis_order %r does not name the axes %r" % (order, sorted(split)))
        return order

    def _experiment(self, params, split):
        exp = {"params": dict(params or {}), "split": split, "version": self.version,
               "axis_order": self._order(split),
               "memo_chunk": {a: self.memo_chunk.get(a, len(v) or 1) for a, v in split.items()},
               "exec_chunk": self.exec_chunk, "retries": self.retries}
        if self.cache is not None:
            exp["cache"] = os.path.abspath(os.fspath(self.cache))
        if self.workers is not None:
            exp["workers"] = self.workers
        if self.timeout is not None:
            exp["timeout"] = self.timeout
        if self.fn_id is not None:
            exp["fn_id"] = self.fn_id
        return exp

    def _env(self):
        env = dict(os.environ)
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = [here] + [os.path.abspath(p or ".") for p in sys.path if p != here]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
        env.pop("SWARM_PARAMS", None)
        return env

    def _start(self, params, split, *mode):
        """Starts swarm-run on the experiment (given on its stdin, JSON
        being YAML): (pid, the read end of its stdout). posix_spawn, not
        subprocess: a sweep's start is part of its time."""
        exp = _values.compact(self._experiment(params, split)).encode()
        if self._where is None:
            self._where = _target(self.fn)
        argv = [_paths.swarm_run(), "-c", "/dev/stdin", "--keep-going", "--no-progress",
                *mode, "--coproc", sys.executable, "-c", _COPROC]
        if self.kwargs:
            argv.append("--kwargs")
        argv.append(self._where)
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            try:  # room for 1 MiB of output while we build the grid (Linux)
                import fcntl

                fcntl.fcntl(out_r, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
            except (ImportError, OSError):
                pass
            pid = os.posix_spawn(argv[0], argv, self._env(), file_actions=[
                (os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1)])
        except BaseException:
            os.close(out_r)
            raise
        finally:
            os.close(in_r)
            os.close(out_w)
        try:
            view = memoryview(exp)
            while view:
                view = view[os.write(in_w, view):]
        except BrokenPipeError:  # it refused the experiment: its exit says why
            pass
        finally:
            os.close(in_w)
        return pid, out_r

    def _swarm(self, params, split, *mode):
        """Runs swarm-run to the end: (exit status, stdout)."""
        pid, fd = self._start(params, split, *mode)
        with os.fdopen(fd, "rb") as f:
            out = f.read()
        return _wait(pid), out

    # ---- runs --------------------------------------------------------------

    def run(self, params, split):
        """Every point's value: (results, diag), results the (point, value)
        pairs in grid order (a Results: a read-only list whose points are
        made as they are reached). Raises SweepError (with the error
        records) when points failed."""
        split = _lists(split)
        order = self._order(split)
        pid, fd = self._start(params, split, "--values")
        gc_was = gc.isenabled()
        gc.disable()  # new containers only: collections would find nothing
        try:
            reader = _Reader()
            while True:  # values parsed as they come, while swarm-run runs
                data = os.read(fd, 1 << 20)
                if not data:
                    break
                reader.feed(data)
            results, errors, diag = reader.finish(split, order)
        finally:
            os.close(fd)
            if gc_was:
                gc.enable()
        _check(_wait(pid), errors, results, diag)
        return results, diag

    def run_streaming(self, params, split):
        """Computes and caches the missing chunks, returning nothing but diag."""
        split = _lists(split)
        rc, out = self._swarm(params, split, "--stream")
        diag = {}
        for line in out.splitlines():
            rec = _values.loads(line)
            if rec.get("type") == "diag":
                diag = rec
        _check(rc, [], [], diag)
        return diag

    def plan(self, params, split):
        """The chunk records of the plan (swarm-run --plan); runs nothing."""
        split = _lists(split)
        rc, out = self._swarm(params, split, "--plan")
        _check(rc, [], [], {})
        return [_values.loads(line) for line in out.splitlines() if line.strip()]

    # ---- the decorator -----------------------------------------------------

    def wrap(self, fn):
        """A decorator: f(**axes_and_params) -> (results, diag). Arguments
        that are lists, tuples or ranges (or named in memo_chunk) are axes;
        the others, and the function's defaults, are params; fn is called
        per point as fn(**params, **point)."""
        import functools
        import inspect

        sig = inspect.signature(fn)
        defaults = {k: v.default for k, v in sig.parameters.items()
                    if v.default is not inspect.Parameter.empty}
        sweep = Sweep.__new__(Sweep)
        sweep.__dict__.update(self.__dict__)
        sweep.fn, sweep.kwargs, sweep._where = fn, True, None

        @functools.wraps(fn)
        def run(**kw):
            params, split = dict(defaults), {}
            for k, v in kw.items():
                if k in sweep.memo_chunk or isinstance(v, (list, tuple, range)):
                    split[k] = v
                else:
                    params[k] = v
            for k in split:
                params.pop(k, None)
            return sweep.run(params, split)

        run.__coren_fn__ = fn
        run.sweep = sweep
        return run


def _wait(pid):
    """The exit status of child pid (128 + N for signal N)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _check(rc, errors, results, diag):
    if rc == 0 and not errors:
        return
    if rc == 3:  # the co-process could not load the function
        raise SweepError(errors[0]["reason"] if errors else "swarm-run: the function cannot be loaded (exit 3)",
                         errors, results, diag)
    if errors:
        raise SweepError("%d of %d points failed (first: %s)" % (
            len(errors), diag.get("points_total", len(errors) + len(results)),
            errors[0].get("reason")), errors, results, diag)
    raise SweepError("swarm-run failed (exit %d)" % rc, errors, results, diag)


# ---- reading swarm-run's output -----------------------------------------

def _points_of(order):
    """A function of the axes' value lists (in order) giving a generator
    of the grid's points in grid order, keys in canonical order (as
    swarm-run writes them): one generator expression made for these
    axes, the fastest way Python has to build the dicts."""
    if not order:
        return lambda lists: iter(({},))
    keys = sorted(order)
    names = ["v%d" % i for i in range(len(order))]
    pos = {a: names[i] for i, a in enumerate(order)}
    point = "{%s}" % ",".join("%r:%s" % (k, pos[k]) for k in keys)
    # nested for clauses, not itertools.product: no tuple to unpack per
    # point (7% less time for 100k points of 2 axes)
    loops = " ".join("for %s in lists[%d]" % (v, i) for i, v in enumerate(names))
    return eval("lambda lists: (%s %s)" % (point, loops), {})


class Results(Sequence):
    """The (point, value) pairs of a sweep in grid order, as a read-only
    list: len, indexing (slices give lists), iteration, equality with a
    list of pairs (or another Results), index, count, in. The values are
    held (.values, a list in grid order); each point is made when it is
    reached, from the grid, so a point is a new dict at each access."""

    __slots__ = ("_lists", "_order", "_keys", "_lens", "_gen", "values")
    __hash__ = None

    def __init__(self, split, order, values):
        self._lists = [split[a] for a in order]
        self._order = list(order)
        self._keys = sorted(order)
        self._lens = [len(v) for v in self._lists]
        self._gen = _points_of(order)
        self.values = values

    def points(self):
        """The points in grid order (an iterator)."""
        return self._gen(self._lists)

    def point(self, i):
        """The point of grid index i (0 <= i < len)."""
        at = {}
        for a, vs, n in zip(reversed(self._order), reversed(self._lists), reversed(self._lens)):
            i, k = divmod(i, n)
            at[a] = vs[k]
        return {k: at[k] for k in self._keys}

    def __len__(self):
        return len(self.values)

    def __iter__(self):
        return zip(self._gen(self._lists), self.values)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self.values)))]
        v = self.values[i]  # IndexError, TypeError as a list's
        return self.point(i % len(self.values)), v

    def __eq__(self, other):
        if isinstance(other, Results):
            return self._order == other._order and self._lists == other._lists and self.values == other.values
        if isinstance(other, list):
            return len(other) == len(self.values) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self):
        return repr(list(self))


class _Reader:
    """swarm-run --values' output, read as it comes: each piece's whole
    lines parsed in one call. "values" records hold the values of runs of
    points in grid order ("index": the grid index of the first; a run
    follows on when its index is where the last ended), "error" records
    the failed points, then the "diag"."""

    def __init__(self):
        self.runs, self.errors, self.diag = [], [], {}
        self.end = 0  # the grid index after the last run
        self.rest = b""

    def feed(self, data):
        data = self.rest + data if self.rest else data
        end = data.rfind(b"\n") + 1
        self.rest = data[end:]
        if end:
            self.take(_values.loads(b"[" + data[:end - 1].replace(b"\n", b",") + b"]"))

    def take(self, recs):
        for r in recs:
            t = r.get("type")
            if t == "values":
                if not self.runs or r["index"] != self.end:  # after a gap
                    self.runs.append((r["index"], []))
                self.runs[-1][1].extend(r["values"])
                self.end = self.runs[-1][0] + len(self.runs[-1][1])
            elif t == "error":
                self.errors.append(r)
            elif t == "diag":
                self.diag = r

    def finish(self, split, order):
        """(results, errors, diag): results a Results when every point has
        a value, else a list of the (point, value) pairs that have one."""
        if self.rest.strip():
            self.feed(b"\n")
        n = 1
        for a in order:
            n *= len(split[a])
        if len(self.runs) == 1 and self.runs[0][0] == 0 and len(self.runs[0][1]) == n:
            return Results(split, order, self.runs[0][1]), self.errors, self.diag
        grid = Results(split, order, [])
        pairs = [(grid.point(i + k), v) for i, vals in self.runs for k, v in enumerate(vals)]
        return pairs, self.errors, self.diag
