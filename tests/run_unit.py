# One unit suite, two runtimes: this runner executes tests/unit/test_*.py under
# MicroPython (and CPython), with no pytest needed. Under CPython, pytest also
# collects the same files. Test functions are plain `def test_...():` using assert.
#
#   micropython tests/run_unit.py [name-filter]
#
# Exits non-zero when any test fails or when no test ran at all.
import os
import sys

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
ROOT = HERE + "/.."
for p in (HERE + "/unit", ROOT + "/lib", ROOT + "/firmware", ROOT + "/boards"):
    if p not in sys.path:
        sys.path.insert(0, p)


def runtime_name():
    return sys.implementation.name


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    names = sorted(n[:-3] for n in os.listdir(HERE + "/unit") if n.startswith("test_") and n.endswith(".py"))
    passed = failed = 0
    for modname in names:
        try:
            mod = __import__(modname)
        except Exception as e:
            failed += 1
            print("FAIL import", modname, repr(e))
            sys.print_exception(e) if hasattr(sys, "print_exception") else None
            continue
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_") or (only and only not in modname + "." + attr):
                continue
            fn = getattr(mod, attr)
            if not callable(fn):
                continue
            try:
                fn()
                passed += 1
            except Exception as e:
                failed += 1
                print("FAIL", modname + "." + attr, repr(e))
                if hasattr(sys, "print_exception"):
                    sys.print_exception(e)
                else:
                    import traceback

                    traceback.print_exc()
    print("%s: %d passed, %d failed" % (runtime_name(), passed, failed))
    if failed or not passed:
        sys.exit(1)


main()
