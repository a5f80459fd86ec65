"""Module-level functions the tests sweep (a co-process imports them by
name)."""

import math
import os


def add(params, point):
    return point["a"] + point["b"] + params.get("k", 0)


def noisy(params, point):
    print("printed by the function", point)
    os.write(1, b"written to fd 1 by the function\n")
    return point["x"]


def special(params, point):
    x = point["x"]
    return {0: math.nan, 1: math.inf, 2: -math.inf, 3: 2 ** 70, 4: -(2 ** 80), 5: [1.5, math.nan, "é"],
            6: {"k": (1, 2)}, 7: 0.1, 8: True, 9: None}[x]


def fails(params, point):
    if point["x"] == 2:
        raise ValueError("x is two")
    if point["x"] == 3:
        return {1, 2}
    return point["x"]


def kw(a, b, k=0):
    return a * b + k


def pid(params, point):
    return os.getpid()


def sleepy(params, point):
    import time

    if point["x"] == 5 and not os.path.exists(params["flag"]):
        open(params["flag"], "w").close()
        os.kill(os.getpid(), 9)  # killed mid-batch, once
    time.sleep(0.001)
    return point["x"] * 10


def quick(params, point):
    """swarm-memo's quick start exec_fn, on a point dict."""
    return {"strat": point["strat"], "s": point["s"], "value": len(point["strat"]) + point["s"]}


import coren  # noqa: E402

_sweep = coren.Sweep(add, cache=os.environ.get("COREN_PYTEST_CACHE"), memo_chunk={"a": 2})


@_sweep.wrap
def wrapped(a, b, k=0):
    return a * b + k
