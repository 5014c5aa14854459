# CPython side of the two-runtime unit suite: put the firmware's modules on sys.path
# the way MicroPython sees them on the board.
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
for p in ("tests/unit", "lib", "firmware", "boards"):
    full = os.path.join(ROOT, p)
    if full not in sys.path:
        sys.path.insert(0, full)
