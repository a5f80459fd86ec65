"""coren from Python: the co-process adapter (python3 -m coren.coproc), a
sweep API over swarm-run sharing its chunk cache (Sweep), and the cost model
(FnCost, MachCap, Verdict) through libcoren. See coren-python(7).

Names are imported on first use, so `python3 -m coren.coproc` starts
without loading ctypes or subprocess."""

__version__ = "0.1.0"

_LAZY = {
    "Sweep": "sweep",
    "SweepError": "sweep",
    "Results": "sweep",
    "FnCost": "cost",
    "MachCap": "cost",
    "Verdict": "cost",
    "CorenError": "cost",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module("." + _LAZY[name], __name__), name)
    raise AttributeError("module 'coren' has no attribute %r" % name)
