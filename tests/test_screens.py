# The screens as a phone and a person see them: every screen is drawn by the real
# library under the MicroPython Unix port on a framebuf surface at each display's
# native resolution (tools/sim_render.py), then read back here: the QR must
# decode to verification_uri_complete (from the PNG and from the terminal's half
# blocks) and the user code must be big.
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "lib"))

import simulator  # noqa: E402
from deviceflow import font  # noqa: E402

zxingcpp = pytest.importorskip("zxingcpp")

COMPLETE = "https://example-tenant.us.auth0.com/activate?user_code=WDJB-MJHT"
CLASSES = ["oled_128x64", "tft_135x240", "tft_320x240", "epaper_250x122"]
MIN_CODE_PX = {"oled_128x64": 14, "tft_135x240": 21, "tft_320x240": 28, "epaper_250x122": 28}
ENV = dict(os.environ, MICROPYPATH="lib")
MP = os.path.join(ROOT, ".venv", "bin", "micropython")


def decode(w, h, rows, factor):
    img = simulator.to_image(w, h, rows, factor)
    return [r.text for r in zxingcpp.read_barcodes(img)]


def smallest_decoding_factor(w, h, rows):
    for factor in (1, 2, 3, 4, 6, 8):
        if COMPLETE in decode(w, h, rows, factor):
            return factor
    return None


def test_display_classes_and_screens_are_all_known():
    displays, screens = simulator.displays_and_screens()
    assert sorted(displays) == sorted(CLASSES)
    for s in ("code", "starting", "connecting", "waiting", "success", "signed_out", "denied",
              "expired", "network", "tls", "provider", "config", "error"):
        assert s in screens


@pytest.mark.parametrize("display", CLASSES)
def test_code_screen_qr_decodes_to_the_complete_uri(display):
    w, h, rows = simulator.render_pixels(display, "code")
    assert smallest_decoding_factor(w, h, rows) is not None, display


def code_glyph_px(w, h, rows, text):
    """Largest glyph height at which `text` (one line, or split after '-') is in the picture."""
    pix = bytes(1 if rows[y][x] else 0 for y in range(h) for x in range(w))
    options = [[text]]
    if "-" in text:
        i = text.index("-")
        options.append([text[: i + 1], text[i + 1:]])
    for k in range(w // font.text_width("WDJB-", 1), 0, -1):
        for lines in options:
            if all(_find(pix, w, h, ln, k) for ln in lines):
                return font.text_height(k)
    return 0


class _Grid:
    def __init__(self, w, h):
        self.width, self.height = w, h
        self.pix = bytearray(b"\x01" * (w * h))

    def fill_rect(self, x, y, w, h, c):
        for yy in range(y, y + h):
            self.pix[yy * self.width + x: yy * self.width + x + w] = bytes([c]) * w


def _find(pix, W, H, text, k):
    tw, th = font.text_width(text, k), font.text_height(k)
    tpl = _Grid(tw, th)
    font.draw(tpl, text, 0, 0, k, 0)
    rows = [bytes(tpl.pix[y * tw:(y + 1) * tw]) for y in range(th)]
    start = 0
    while True:
        i = pix.find(rows[0], start)
        if i < 0:
            return False
        x, y = i % W, i // W
        if x + tw <= W and y + th <= H and all(
                pix[(y + r) * W + x:(y + r) * W + x + tw] == rows[r] for r in range(th)):
            return True
        start = i + 1


@pytest.mark.parametrize("display", CLASSES)
def test_user_code_is_drawn_big(display):
    w, h, rows = simulator.render_pixels(display, "code")
    assert code_glyph_px(w, h, rows, "WDJB-MJHT") >= MIN_CODE_PX[display]


parse_half_blocks = simulator.parse_half_blocks


@pytest.mark.parametrize("display", CLASSES)
def test_terminal_half_blocks_round_trip_and_decode(display):
    w, h, rows = simulator.render_pixels(display, "code")
    out = simulator.terminal(display, "code")
    assert out.count(b"\n") == (h + 1) // 2  # two pixel rows per line
    assert b"\x1b[H" not in out  # a pipe gets plain frames, no cursor moves
    back = parse_half_blocks(out)
    assert back[:h] == rows
    assert COMPLETE in decode(w, h, back[:h], 4)


def test_terminal_display_refreshes_in_place_on_a_tty():
    script = ("from deviceflow.term_display import TerminalDisplay\n"
              "d = TerminalDisplay(8, 4, live=True)\n"
              "d.fill_rect(0, 0, 8, 4, d.light)\n"
              "d.show()\n"
              "d.fill_rect(0, 0, 2, 1, d.dark)\n"
              "d.show()\n")
    out = subprocess.run([MP, "-c", script], cwd=ROOT, env=ENV, capture_output=True, check=True).stdout
    assert out.startswith(b"\x1b[2J\x1b[H")  # clear once, then home before each later frame
    assert out.count(b"\x1b[H") == 2 and out.count(b"\x1b[2J") == 1
    frame2 = out[out.rindex(b"\x1b[H") + 3:]
    assert parse_half_blocks(frame2)[0][:3] == [False, False, True]


def test_rgb565_terminal_display_maps_colours_by_brightness():
    script = ("import sys\n"
              "from deviceflow.term_display import TerminalDisplay\n"
              "d = TerminalDisplay(4, 2, depth=16)\n"
              "d.fill_rect(0, 0, 4, 2, 0xFFFF)\n"
              "d.pixel(0, 0, 0x0000)\n"      # black
              "d.pixel(1, 0, 0x001F)\n"      # pure blue: dark
              "d.pixel(2, 0, 0xFFE0)\n"      # yellow: light
              "d.show()\n")
    out = subprocess.run([MP, "-c", script], cwd=ROOT, env=ENV, capture_output=True, check=True).stdout
    rows = parse_half_blocks(out)
    assert rows[0] == [False, False, True, True] and rows[1] == [True] * 4


def test_every_screen_png_is_produced_at_a_whole_enlargement(tmp_path):
    displays, screens = simulator.displays_and_screens()
    assert simulator.main(["--all", str(tmp_path)]) == 0
    from PIL import Image

    sizes = {"oled_128x64": (128, 64), "tft_135x240": (135, 240), "tft_320x240": (320, 240),
             "epaper_250x122": (250, 122)}
    for d in displays:
        for s in screens:
            img = Image.open(tmp_path / ("%s-%s.png" % (d, s)))
            w, h = sizes[d]
            assert img.size[0] % w == 0 and img.size[1] // h == img.size[0] // w >= 2
            assert {c for _, c in img.getcolors()} <= {(0, 0, 0), (255, 255, 255)}  # no smoothing


def test_committed_docs_screens_match_the_code():
    """docs/screens is what `make screens` produces today (run it after changing a layout)."""
    from PIL import Image

    docs = os.path.join(ROOT, "docs", "screens")
    displays, screens = simulator.displays_and_screens()
    for d in displays:
        for s in screens:
            path = os.path.join(docs, "%s-%s.png" % (d, s))
            assert os.path.exists(path), path
            w, h, rows = simulator.render_pixels(d, s)
            want = simulator.to_image(w, h, rows, simulator.default_factor(w, h))
            got = Image.open(path).convert("RGB")
            assert got.size == want.size and got.tobytes() == want.tobytes(), path
