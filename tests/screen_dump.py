# Draw code screens with the real layout code on a framebuf surface (TerminalDisplay) under the
# MicroPython Unix port and write every page's raw frame buffer, for tests/test_screens.py.
#
#   MICROPYPATH=lib:boards micropython tests/screen_dump.py CASES OUTDIR
#
# CASES: one JSON list per line: [display class, user_code, verification_uri, complete].
# For case i it writes OUTDIR/i.json ({"w", "h", "depth", "pages": [page kinds], "ecc"}) and
# OUTDIR/i-P.raw for every page P: MONO_HLSB (1 = light) or RGB565 (native order).
import json
import sys

from deviceflow.codescreen import CodeScreen
from deviceflow.term_display import TerminalDisplay
from unix import SIZES


def main(cases, outdir):
    with open(cases) as f:
        lines = [ln for ln in f if ln.strip()]
    for i, ln in enumerate(lines):
        display, code, uri, complete = json.loads(ln)
        w, h, depth = SIZES[display]
        cs = CodeScreen(w, h, code, uri, complete)
        meta = {"w": w, "h": h, "depth": depth, "pages": [p[0] for p in cs.pages],
                "ecc": cs.qr.ecc if cs.qr is not None else None}
        with open("%s/%d.json" % (outdir, i), "w") as f:
            f.write(json.dumps(meta))
        surface = TerminalDisplay(w, h, stream=None, depth=depth, live=False)
        for p in range(len(cs.pages)):
            cs.draw(surface, 872, p)
            with open("%s/%d-%d.raw" % (outdir, i, p), "wb") as f:
                f.write(surface.buffer)


main(sys.argv[1], sys.argv[2])
