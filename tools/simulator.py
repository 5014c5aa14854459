#!/usr/bin/env python3
"""Screen simulator: render any screen for any display class to a PNG or the terminal.

The drawing code is the real library running under the MicroPython Unix port
(tools/sim_render.py on a framebuf surface at the display's native resolution);
this CPython side only turns the raw pixels into a PNG, enlarged by a whole
factor with nearest-neighbour scaling (no smoothing, so every pixel stays sharp).

    python tools/simulator.py --all docs/screens            # every screen x every display
    python tools/simulator.py --display oled_128x64 --screen code --png out.png
    python tools/simulator.py --display oled_128x64 --screen code --terminal
    python tools/simulator.py --display oled_128x32 --screen code@2 --png p2.png   # page 2
"""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
SIM_RENDER = os.path.join(ROOT, "tools", "sim_render.py")
LIGHT = (255, 255, 255)
DARK = (0, 0, 0)


def _env():
    env = dict(os.environ)
    env["MICROPYPATH"] = os.path.join(ROOT, "lib") + ":" + os.path.join(ROOT, "boards")
    return env


def _run(args, capture=True):
    proc = subprocess.run([MICROPYTHON, SIM_RENDER] + args, cwd=ROOT, env=_env(),
                          capture_output=capture)
    if proc.returncode != 0:
        err = (proc.stderr + proc.stdout[-2000:]).decode(errors="replace") if capture else ""
        raise RuntimeError("sim_render %s failed: %s" % (" ".join(args), err.strip()))
    return proc.stdout


def _listing():
    lines = _run(["--list"]).decode().strip().split("\n")
    pages = {}
    for ln in lines[2:]:
        d, name, n = ln.split()
        pages[(d, name)] = int(n)
    return lines[0].split(), lines[1].split(), pages


def displays_and_screens():
    """([display class names], [screen names]) as the MicroPython side knows them."""
    displays, screens, _ = _listing()
    return displays, screens


def all_screens():
    """[(display, screen, file stem)] for every screen of every display: a code screen with
    pages shown in turn gives one picture a page ("code@2" -> "<display>-code-2")."""
    displays, screens, pages = _listing()
    out = []
    for d in displays:
        for s in screens:
            out.append((d, s, "%s-%s" % (d, s)))
            for p in range(2, pages.get((d, s), 1) + 1):
                out.append((d, "%s@%d" % (s, p), "%s-%s-%d" % (d, s, p)))
    return out


def render_pixels(display, screen):
    """(width, height, rows) with rows[y][x] True for a light pixel, at native resolution."""
    fd, path = tempfile.mkstemp(suffix=".raw")
    os.close(fd)
    try:
        _run([display, screen, path])
        with open(path, "rb") as f:
            data = f.read()
    finally:
        os.unlink(path)
    header, _, pixels = data.partition(b"\n")
    w, h, _depth = (int(v) for v in header.split())
    if len(pixels) != w * h:
        raise RuntimeError("sim_render wrote %d pixels, expected %d" % (len(pixels), w * h))
    rows = [[pixels[y * w + x] == 1 for x in range(w)] for y in range(h)]
    return w, h, rows


def to_image(w, h, rows, factor=1):
    """A Pillow RGB image of the pixels, enlarged by a whole factor (nearest)."""
    from PIL import Image

    img = Image.new("RGB", (w, h))
    img.putdata([LIGHT if rows[y][x] else DARK for y in range(h) for x in range(w)])
    if factor > 1:
        img = img.resize((w * factor, h * factor), Image.NEAREST)
    return img


def default_factor(w, h):
    """Whole enlargement that makes the picture about 640 pixels wide (at least 1)."""
    return max(1, 640 // max(w, h))


def write_png(display, screen, path, factor=None):
    w, h, rows = render_pixels(display, screen)
    img = to_image(w, h, rows, factor or default_factor(w, h))
    img.save(path)
    return path


def terminal(display, screen):
    """The half-block terminal rendering (bytes), as TerminalDisplay.show() writes it."""
    return _run([display, screen, "--terminal"])



HALF_BLOCKS = {" ": (True, True), "\u2580": (False, True), "\u2584": (True, False), "\u2588": (False, False)}
FRAME_START, FRAME_END = "\x1b[30;107m", "\x1b[0m"


def parse_half_blocks(out):
    """Pixels back from TerminalDisplay.show() output: rows of True (light) / False (dark)."""
    if isinstance(out, bytes):
        out = out.decode("utf-8")
    rows = []
    for line in out.split("\n"):
        if not line:
            continue
        line = line.replace("\x1b[H", "").replace("\x1b[2J", "")
        assert line.startswith(FRAME_START) and line.endswith(FRAME_END), repr(line[:20])
        top, bottom = [], []
        for ch in line[len(FRAME_START):-len(FRAME_END)]:
            t, b = HALF_BLOCKS[ch]
            top.append(t)
            bottom.append(b)
        rows.append(top)
        rows.append(bottom)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", metavar="DIR", help="write DIR/<display>-<screen>.png for every pair")
    ap.add_argument("--display", help="display class (see --list)")
    ap.add_argument("--screen", default="code", help="screen name (see --list)")
    ap.add_argument("--png", metavar="FILE", help="write this screen to FILE")
    ap.add_argument("--scale", type=int, default=0, help="whole enlargement factor for PNGs")
    ap.add_argument("--terminal", action="store_true", help="print the half-block rendering")
    ap.add_argument("--list", action="store_true", help="list display classes and screens")
    args = ap.parse_args(argv)
    displays, screens = displays_and_screens()
    if args.list:
        print("displays:", " ".join(displays))
        print("screens: ", " ".join(screens))
        return 0
    if args.all:
        os.makedirs(args.all, exist_ok=True)
        for d, s, stem in all_screens():
            path = os.path.join(args.all, stem + ".png")
            write_png(d, s, path, args.scale or None)
            print(path)
        return 0
    if not args.display:
        ap.error("give --all DIR, or --display with --png and/or --terminal")
    if args.display not in displays or args.screen.partition("@")[0] not in screens:
        ap.error("unknown display or screen; see --list")
    if args.png:
        write_png(args.display, args.screen, args.png, args.scale or None)
        print(args.png)
    if args.terminal or not args.png:
        out = terminal(args.display, args.screen)
        sys.stdout.buffer.write(out)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
