#!/usr/bin/env python3
"""Smallest MicroPython heap in which the whole sign-in completes, found by bisection.

    python tools/heap_budget.py [--lo 16] [--hi 160] [--step 1] [--display oled_128x64]

Compiles the firmware to bytecode .mpy (tools/build_mpy.py --arch none), starts the stub
server over HTTPS, and runs the compiled firmware as a Unix-port process with
`micropython -X heapsize=<N>K ... --once`: code screen with its QR, polls, JWKS fetch and
ID-token check, store write, one API call. A run passes when it exits 0 after `api_ok`.
Prints each probe and the smallest passing N in KiB (1 KiB = 1024 bytes).

Also prints the heap the imported code holds (about 136 KiB of bytecode and tables on the 64-bit
Unix port; a board freezes these modules into flash). --plain-http measures without TLS (it
changes the figure by about 1 KiB).
"""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import build_mpy  # noqa: E402
from device import MICROPYTHON, Device  # noqa: E402
from stubctl import start_stub  # noqa: E402


def build_tree(out):
    rows, failures = build_mpy.build(out, arch=None, report=lambda *a: None)
    if failures:
        raise SystemExit("mpy-cross failed: %s" % failures)
    return out


def code_footprint(tree):
    """Bytes of GC heap held once main and everything it imports are loaded (after a collect):
    on a board these modules are frozen into flash and cost (almost) no heap."""
    code = "import gc\nimport main\ngc.collect()\nprint(gc.mem_alloc())\n"
    env = dict(os.environ, MICROPYPATH=os.path.join(tree, "lib") + ":.frozen")
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=4M", "-c", code], cwd=tree, env=env,
                       capture_output=True, text=True)
    if p.returncode:
        raise SystemExit("import probe failed: " + p.stdout + p.stderr)
    return int(p.stdout.split()[-1])


def sign_in_fits(workdir, stub, tree, kib, display=None, timeout=60):
    """True when the compiled firmware signs in and calls the API within a kib-KiB heap."""
    d = os.path.join(workdir, "run-%d" % kib)
    os.makedirs(d, exist_ok=True)
    stub.reset()
    if display:
        os.environ["DEVICEFLOW_DISPLAY"] = display
    dev = Device(d, stub)
    try:
        rc = dev.run("--once", timeout=timeout, heapsize="%dK" % kib, mpy_tree=tree)
    except AssertionError:
        return False, "timeout"
    ok = rc == 0 and bool(dev.events("api_ok"))
    why = "" if ok else (dev.log_text().splitlines() or ["(no log)"])[-1][:100]
    if not ok and "MemoryError" in dev.screen_text:
        why = "MemoryError"
    return ok, why


def bisect(workdir, stub, tree, lo, hi, step=1, display=None, report=print):
    """Smallest kib in (lo, hi] that passes, assuming lo fails and hi passes (checked)."""
    ok, why = sign_in_fits(workdir, stub, tree, hi, display)
    report("%4d KiB: %s %s" % (hi, "ok" if ok else "FAIL", why))
    if not ok:
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2
        ok, why = sign_in_fits(workdir, stub, tree, mid, display)
        report("%4d KiB: %s %s" % (mid, "ok" if ok else "FAIL", why))
        if ok:
            hi = mid
        else:
            lo = mid
    return hi


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lo", type=int, default=16, help="KiB assumed too small")
    ap.add_argument("--hi", type=int, default=160, help="KiB that must be enough")
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--display", default=None, help="DEVICEFLOW_DISPLAY (default oled_128x64)")
    ap.add_argument("--plain-http", action="store_true",
                    help="stub over http://127.0.0.1: leaves mbedTLS (IDF heap on an ESP32) out of N")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tree = build_tree(os.path.join(tmp, "mpy"))
        code = code_footprint(tree)
        print("code and static data after importing main (compiled): %.1f KiB" % (code / 1024.0))
        with start_stub(os.path.join(tmp, "stub"), tls=not args.plain_http, interval=1, approve_after=0) as stub:
            n = bisect(tmp, stub, tree, args.lo, args.hi, args.step, args.display)
    if n is None:
        print("the sign-in does not complete even in %d KiB" % args.hi)
        return 1
    print("smallest heap for the whole sign-in (%s, %s): %d KiB; above the code: %.1f KiB"
          % (args.display or "oled_128x64", "plain HTTP" if args.plain_http else "HTTPS", n, n - code / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
