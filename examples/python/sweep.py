#!/usr/bin/env python3
"""A memoized sweep from Python (coren-python(7)):

    PYTHONPATH=../../python python3 sweep.py     # again: every chunk cached

The same function runs from the shell as

    swarm-run --param w=2.0 --split zeta=0,0.1,0.5,1 --split t=0..20 \\
        --memo-chunk zeta=2 --memo-chunk t=7 --coproc python3 -m coren.coproc model:amplitude
"""

import os
import sys

import coren
import model

if __name__ == "__main__":  # the co-processes import model, not this script
    cache = os.environ.get("COREN_EXAMPLE_CACHE", "cache")
    sweep = coren.Sweep(model.amplitude, cache=cache, memo_chunk={"zeta": 2, "t": 7})
    results, diag = sweep.run({"w": 2.0}, {"zeta": [0, 0.1, 0.5, 1], "t": [i / 4 for i in range(21)]})
    for point, value in results[::20]:
        print("zeta=%-4s t=%-5s amplitude=% .4f" % (point["zeta"], point["t"], value))
    print("%d points, %d chunks computed, %d cached" % (len(results), diag["chunks_executed"],
                                                      diag["chunks_cached"]), file=sys.stderr)
    cost = coren.FnCost.scan(8 * len(results), 8 * len(results))
    print("a stored copy of these results: %s" % coren.MachCap.read().verdict(cost), file=sys.stderr)
