#!/usr/bin/env python3
"""Smallest MicroPython GC heap in which the firmware does its work, found by bisection, on the
32-bit Unix port (the object layout of an ESP32), for each way a board can hold the firmware.

    python tools/heap_budget.py [--install mpy|frozen|all] [--port64] [--https]

Install paths (what the heap has to hold besides the working set):
    mpy     compiled .mpy files on the filesystem, as `make deploy` copies them: the bytecode of
            every imported module lives in the GC heap (the real micropython-lib hmac and
            ssd1306 are compiled in too, as mip installs them);
    frozen  the firmware frozen into the port (tools/build_port32.py --frozen, the way
            manifest.py freezes it into a board's flash): only main.py is compiled into RAM.

Runs (each a Unix-port process, `micropython -X heapsize=<N>K`, against the stub server):
    sign-in   code screen with its QR (128x64), polls, JWKS fetch and ID-token check, store
              write, one API call; passes when it exits 0 after `api_ok`;
    refresh   a wake with tokens in flash and the access token expired: refresh, store, API.

By default the stub speaks plain HTTP on 127.0.0.1: on an ESP32 mbedTLS allocates from the IDF
heap, not the GC heap, so that is the faithful GC figure (the 32-bit port has no tls module).
--port64 measures with the 64-bit port from the venv instead (then --https is possible).
1 KiB = 1024 bytes.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import build_mpy  # noqa: E402
import build_port32  # noqa: E402
import device  # noqa: E402
from device import MICROPYTHON, PORT32, PORT32_FROZEN, Device  # noqa: E402
from stubctl import start_stub  # noqa: E402

TARGETS_KIB = {"mpy": 96, "frozen": 40}  # issue targets: fits 111,936 B with room; frozen
MOONSHOT_KIB = 64  # the ESP32's first heap area: .mpy without ever growing the heap


class Target:
    """One way to run the firmware: which port binary, and the compiled tree (None = frozen/sources)."""

    def __init__(self, install, micropython, mpy_tree=None):
        self.install = install
        self.micropython = micropython
        self.mpy_tree = mpy_tree

    def run(self, dev, *args, kib=None, timeout=60):
        return dev.run(*args, timeout=timeout, heapsize="%dK" % kib if kib else None,
                       mpy_tree=self.mpy_tree, micropython=self.micropython)


def build_tree(out, with_lib=True):
    """The firmware compiled to bytecode .mpy (tools/build_mpy.py --arch none), plus the real
    micropython-lib hmac and ssd1306 compiled into its lib/ as mip would install them."""
    rows, failures = build_mpy.build(out, arch=None, report=lambda *a: None)
    if failures:
        raise SystemExit("mpy-cross failed: %s" % failures)
    if with_lib:
        for folder in build_port32.main_lib_folders():
            for f in os.listdir(folder):
                if f.endswith(".py") and f != "manifest.py" and not f.startswith("test_"):
                    ok, msg = build_mpy.compile_one(os.path.join(folder, f), os.path.join(out, "lib", f[:-3] + ".mpy"),
                                                    None, root=ROOT)
                    if not ok:
                        raise SystemExit(msg)
    return out


def target(install, workdir, port64=False):
    if install == "frozen":
        if port64:
            raise SystemExit("the frozen install path is measured on the 32-bit port only")
        # main.py alone in its folder, as on a board: the script's folder is on sys.path, so
        # next to the firmware sources it would import those instead of the frozen modules.
        only_main = os.path.join(workdir, "frozen-main")
        os.makedirs(only_main, exist_ok=True)
        shutil.copy(os.path.join(ROOT, build_mpy.ENTRY), only_main)
        return Target("frozen", build_port32.ensure(frozen=True), only_main)
    port = MICROPYTHON if port64 else build_port32.ensure()
    return Target("mpy", port, build_tree(os.path.join(workdir, "mpy-" + install)))


def code_footprint(t):
    """Bytes of GC heap that every module of the firmware holds when all are imported at once
    (after a collect): what the heap would need without import by phase."""
    names = []
    for src, dev in build_mpy.sources():
        board_file = src.startswith("boards/") and src != "boards/unix.py"
        if dev != "main.py" and not board_file and src != "firmware/platform_esp32.py":
            name = dev[len("lib/"):-3].replace("/", ".")
            if not name.endswith("__init__") and ".drivers." not in name:
                names.append(name)
    code = "import gc\ngc.collect()\na = gc.mem_alloc()\n%s\ngc.collect()\nprint(gc.mem_alloc() - a)\n" % (
        "\n".join("import " + n for n in names))
    cwd, path = t.mpy_tree, os.path.join(t.mpy_tree, "lib") + ":.frozen"
    if t.install == "frozen":
        path = ".frozen"
    env = dict(os.environ, MICROPYPATH=path)
    p = subprocess.run([t.micropython, "-X", "heapsize=4M", "-c", code], cwd=cwd, env=env,
                       capture_output=True, text=True)
    if p.returncode:
        raise SystemExit("import probe failed: " + p.stdout + p.stderr)
    return int(p.stdout.split()[-1])


def _outcome(dev, rc, need):
    names = [e["event"] for e in dev.events()]
    ok = rc == 0 and all(n in names for n in need)
    why = "" if ok else (dev.log_text().splitlines() or ["(no log)"])[-1][:100]
    if not ok and ("MemoryError" in dev.screen_text or "MemoryError" in dev.log_text()):
        why = "MemoryError"
    return ok, why


def sign_in_fits(workdir, stub, t, kib, display=None, timeout=60):
    """(True, "") when the firmware signs in and calls the API within a kib-KiB heap."""
    d = os.path.join(workdir, "%s-signin-%d" % (t.install, kib))
    shutil.rmtree(d, ignore_errors=True)
    stub.reset()
    _use_display(display)
    dev = Device(d, stub)
    try:
        rc = t.run(dev, "--once", kib=kib, timeout=timeout)
    except AssertionError:
        return False, "timeout"
    return _outcome(dev, rc, ("show_code", "id_token_ok", "tokens_stored", "api_ok"))


def _use_display(display=None):
    """The display class the Unix board draws on in the next runs (DEVICEFLOW_DISPLAY)."""
    device.ENV["DEVICEFLOW_DISPLAY"] = display or "oled_128x64"


def signed_in_state(workdir, stub, t):
    """A state folder holding tokens whose access token has expired (rotation off, so every
    probe can refresh with the same refresh token from a copy of it)."""
    stub.reset()
    stub.configure(access_ttl=2, rotation=False)
    _use_display()
    dev = Device(os.path.join(workdir, "%s-refresh-first" % t.install), stub)
    if t.run(dev, "--once", timeout=60) != 0:
        raise SystemExit("sign-in for the refresh measurement failed:\n" + dev.log_text())
    time.sleep(2.5)
    return dev.state


def refresh_fits(workdir, stub, t, state, kib, timeout=60):
    """(True, "") when a wake with an expired access token refreshes and calls the API in kib KiB."""
    d = os.path.join(workdir, "%s-refresh-%d" % (t.install, kib))
    shutil.rmtree(d, ignore_errors=True)
    _use_display()
    dev = Device(d, stub, refresh_margin_s=0, refresh_window_s=0, refresh_spread_s=0)
    shutil.rmtree(dev.state)
    shutil.copytree(state, dev.state)
    try:
        rc = t.run(dev, "--once", kib=kib, timeout=timeout)
    except AssertionError:
        return False, "timeout"
    return _outcome(dev, rc, ("refreshed", "api_ok"))


def bisect(fits, lo, hi, step=1, report=print):
    """Smallest kib in (lo, hi] for which fits(kib)[0], assuming lo fails and hi passes (checked)."""
    ok, why = fits(hi)
    report("%4d KiB: %s %s" % (hi, "ok" if ok else "FAIL", why))
    if not ok:
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2
        ok, why = fits(mid)
        report("%4d KiB: %s %s" % (mid, "ok" if ok else "FAIL", why))
        if ok:
            hi = mid
        else:
            lo = mid
    return hi


# Display classes whose driver keeps a frame in the heap larger than the 128x64 OLED's 1 KiB (the
# e-paper panels: 4 and 5 KB), measured on their own. A TFT driver keeps no frame (tests/
# test_boards.py), so the 128x64 figure is a TFT board's too; the Unix port's terminal stand-in
# for a TFT does keep a colour frame, so it cannot measure one.
FRAME_DISPLAYS = ("epaper_250x122", "epaper_200x200")


def measure(install, workdir, port64=False, https=False, lo=16, hi=400, report=print, displays=()):
    """{"install", "sign_in_kib", "refresh_kib", "code_bytes", "by_display"} for one install path;
    by_display: the sign-in's smallest heap on each of `displays`."""
    t = target(install, workdir, port64)
    code = code_footprint(t)
    report("%s: every module imported at once would hold %.1f KiB" % (install, code / 1024.0))
    with start_stub(os.path.join(workdir, "stub-" + install), tls=https, interval=1, approve_after=0) as stub:
        sign_in = bisect(lambda k: sign_in_fits(workdir, stub, t, k), lo, hi, report=report)
        by_display = dict((d, bisect(lambda k: sign_in_fits(workdir, stub, t, k, display=d), lo, hi, report=report))
                          for d in displays)
        state = signed_in_state(workdir, stub, t)
        refresh = bisect(lambda k: refresh_fits(workdir, stub, t, state, k), 8, hi, report=report)
    return {"install": install, "sign_in_kib": sign_in, "refresh_kib": refresh, "code_bytes": code,
            "by_display": by_display}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--install", choices=("mpy", "frozen", "all"), default="all")
    ap.add_argument("--port64", action="store_true", help="the venv's 64-bit port (not an ESP32 figure)")
    ap.add_argument("--https", action="store_true", help="stub over HTTPS (64-bit port only: it has tls)")
    ap.add_argument("--lo", type=int, default=16, help="KiB assumed too small")
    ap.add_argument("--hi", type=int, default=400, help="KiB that must be enough")
    args = ap.parse_args(argv)
    if args.https and not args.port64:
        raise SystemExit("--https needs --port64: the 32-bit measuring port is built without tls")
    installs = ("mpy", "frozen") if args.install == "all" else (args.install,)
    with tempfile.TemporaryDirectory() as tmp:
        for install in installs:
            r = measure(install, tmp, args.port64, args.https, args.lo, args.hi)
            target_kib = TARGETS_KIB.get(install) if not args.port64 else None
            print("%s: smallest heap for the whole sign-in %s KiB%s; refresh wake %s KiB"
                  % (install, r["sign_in_kib"], " (target <= %d)" % target_kib if target_kib else "",
                     r["refresh_kib"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
