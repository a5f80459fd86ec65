"""A small TAP producer for the Python tests: @test functions, run in
order, each one "ok" or "not ok" with its traceback as a comment."""

import sys
import traceback

_tests = []


def test(fn):
    _tests.append(fn)
    return fn


def main():
    print("1..%d" % len(_tests))
    failed = 0
    for i, fn in enumerate(_tests, 1):
        name = (fn.__doc__ or fn.__name__).strip().splitlines()[0]
        try:
            fn()
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        else:
            print("ok %d - %s" % (i, name))
        sys.stdout.flush()
    return 1 if failed else 0
