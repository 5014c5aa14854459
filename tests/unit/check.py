# Small assertion helpers that work on MicroPython and CPython alike (no pytest there).
import os


def raises(exc_type, fn, *args, **kwargs):
    """Call fn and return the exception it raised; fail unless it is an exc_type."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), exc_type.__name__))


_counter = [0]


def tmpdir():
    """A fresh empty directory under /tmp, on both runtimes."""
    _counter[0] += 1
    base = "/tmp/deviceflow-unit-%d-%d" % (os.getpid() if hasattr(os, "getpid") else 0, _counter[0])
    _rmtree(base)
    os.mkdir(base)
    return base


def _rmtree(path):
    try:
        names = os.listdir(path)
    except OSError:
        try:
            os.remove(path)
        except OSError:
            pass
        return
    for n in names:
        _rmtree(path + "/" + n)
    os.rmdir(path)
