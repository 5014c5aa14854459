# Import by phase. On a board without frozen modules the bytecode of every imported module
# sits in the GC heap (about 100 KiB for the whole firmware on a 32-bit port), so what one
# phase alone needs (boot: config and discovery; sign-in: the QR encoder; validation: JWT and
# RSA) is imported when the phase starts and dropped when it ends: the heap then holds the
# peak of the phases, not their sum. On CPython (the fleet simulator, host tools) memory is no
# constraint and dropping would only cost re-imports and full collections, so drop does nothing.
import gc
import sys

DROPS = sys.implementation.name == "micropython"


def drop(*names):
    """Forget the named modules so their code is collected once nothing else refers to it:
    remove them from sys.modules and from their package's attributes."""
    if not DROPS:
        return
    for name in names:
        mod = sys.modules.pop(name, None)
        if mod is None:
            continue
        pkg, _, leaf = name.rpartition(".")
        parent = sys.modules.get(pkg) if pkg else None
        if parent is not None and getattr(parent, leaf, None) is mod:
            try:
                delattr(parent, leaf)
            except (AttributeError, TypeError):
                pass
    gc.collect()


def collect():
    """A full collection before a large allocation, where fragmentation is the risk (a board's
    heap); on CPython it would only cost time."""
    if DROPS:
        gc.collect()
