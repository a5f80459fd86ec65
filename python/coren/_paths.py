"""Where swarm-run and libcoren are: $COREN_SWARM_RUN and $COREN_LIBCOREN
(the build tree's tests set them), else the directories `make install`
wrote into _config.py, else PATH and the linker's search."""

import os

try:
    from coren import _config
except ImportError:  # the source tree, not installed
    _config = None


def swarm_run():
    exe = os.environ.get("COREN_SWARM_RUN")
    if exe:
        return exe
    if _config is not None:
        exe = os.path.join(_config.BINDIR, "swarm-run")
        if os.access(exe, os.X_OK):
            return exe
    import shutil

    exe = shutil.which("swarm-run")
    if not exe:
        raise FileNotFoundError("swarm-run not found (install coren, or set COREN_SWARM_RUN)")
    return exe


def libcoren():
    lib = os.environ.get("COREN_LIBCOREN")
    if lib:
        return lib
    if _config is not None:
        lib = os.path.join(_config.LIBDIR, "libcoren.so.0")
        if os.path.exists(lib):
            return lib
    import ctypes.util

    return ctypes.util.find_library("coren") or "libcoren.so.0"
