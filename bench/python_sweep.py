"""One whole-process measurement of bench/python.sh: the issue's grid
{a: range(100), b: range(1000)}, memo chunk {a: 10, b: 100}, exec chunk
1000, 2 workers, fn(a, b) = a + b, results consumed as a list of
(point, value) pairs; or run_streaming over 10k points."""

import sys

import coren


def add(params, point):
    return point["a"] + point["b"]


if __name__ == "__main__":
    mode, cache = sys.argv[1], sys.argv[2]
    sweep = coren.Sweep(add, cache=cache, memo_chunk={"a": 10, "b": 100}, exec_chunk=1000, workers=2)
    if mode == "stream":
        diag = sweep.run_streaming({}, {"a": range(10), "b": range(1000)})
        assert diag["points_total"] == 10000
    else:
        results, diag = sweep.run({}, {"a": range(100), "b": range(1000)})
        total = 0
        for point, value in results:  # consumed as Python objects
            total += value
        assert len(results) == 100000 and total == 100 * 999 * 1000 // 2 + 1000 * 99 * 100 // 2
