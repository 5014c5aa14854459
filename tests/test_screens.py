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
SIZES = {"oled_128x64": (128, 64), "oled_128x32": (128, 32), "tft_135x240": (135, 240),
         "tft_240x135": (240, 135), "tft_240x240": (240, 240), "tft_320x240": (320, 240),
         "epaper_250x122": (250, 122), "epaper_200x200": (200, 200), "epaper_296x128": (296, 128)}
CLASSES = sorted(SIZES)
# 32 rows hold no QR of this URI (at most version 1 with its quiet zone): text pages only
WITH_QR = [c for c in CLASSES if c != "oled_128x32"]
MIN_CODE_PX = {"oled_128x64": 14, "oled_128x32": 14, "tft_135x240": 21, "tft_240x135": 21,
               "tft_240x240": 28, "tft_320x240": 28, "epaper_250x122": 28, "epaper_200x200": 21,
               "epaper_296x128": 28}
ENV = dict(os.environ, MICROPYPATH="lib:boards")
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


@pytest.mark.parametrize("display", WITH_QR)
def test_code_screen_qr_decodes_to_the_complete_uri(display):
    w, h, rows = simulator.render_pixels(display, "code")
    assert smallest_decoding_factor(w, h, rows) is not None, display


def test_a_long_host_name_gets_a_scannable_qr_on_128x64():
    long = "https://my-company-production-tenant-name.eu.auth0.com/activate?user_code=WDJB-MJHT"
    w, h, rows = simulator.render_pixels("oled_128x64", "code_long")
    assert long in decode(w, h, rows, 4)
    pages = [simulator.render_pixels("oled_128x64", "code_long@%d" % p)[2] for p in (2, 3)]
    assert all(not decode(w, h, r, 4) for r in pages)  # the text pages carry no QR
    assert code_glyph_px(w, h, pages[1], "WDJB-MJHT") >= 21  # the code alone, big


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
    best = 0
    for d, screen, _ in simulator.all_screens():
        if d == display and screen.partition("@")[0] == "code":
            w, h, rows = simulator.render_pixels(display, screen)
            best = max(best, code_glyph_px(w, h, rows, "WDJB-MJHT"))
    assert best >= MIN_CODE_PX[display]


parse_half_blocks = simulator.parse_half_blocks


@pytest.mark.parametrize("display", WITH_QR)
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
    assert simulator.main(["--all", str(tmp_path)]) == 0
    from PIL import Image

    for d, s, stem in simulator.all_screens():
        img = Image.open(tmp_path / (stem + ".png"))
        w, h = SIZES[d]
        assert img.size[0] % w == 0 and img.size[1] // h == img.size[0] // w >= 2
        assert {c for _, c in img.getcolors()} <= {(0, 0, 0), (255, 255, 255)}  # no smoothing


def test_committed_docs_screens_match_the_code():
    """docs/screens is what `make screens` produces today (run it after changing a layout)."""
    from PIL import Image

    docs = os.path.join(ROOT, "docs", "screens")
    made = set()
    for d, s, stem in simulator.all_screens():
        made.add(stem + ".png")
        path = os.path.join(docs, stem + ".png")
        assert os.path.exists(path), path
        w, h, rows = simulator.render_pixels(d, s)
        want = simulator.to_image(w, h, rows, simulator.default_factor(w, h))
        got = Image.open(path).convert("RGB")
        assert got.size == want.size and got.tobytes() == want.tobytes(), path
    assert set(n for n in os.listdir(docs) if n.endswith(".png")) == made  # no stale pictures
    with open(os.path.join(ROOT, "docs", "SCREENS.md")) as f:
        gallery = f.read()
    assert all("(screens/%s)" % n in gallery for n in made)  # the gallery shows every one


# ---- every display class x verification_uri_complete of 40 to 120 bytes x tenant code formats ----

TAIL = "/activate?user_code=WDJB-MJHT"


def complete_of_length(n):
    """A realistic verification_uri_complete of exactly n bytes (the tenant's host grows)."""
    tail = TAIL if n >= 45 else "/device?user_code=WDJB-MJHT"
    room = n - len("https://") - len(tail)
    if room >= 14:
        label = ("my-company-production-tenant-name-and-then-some-more-words-" * 2)[:room - 13].rstrip("-")
        host = label + "x" * (room - 13 - len(label)) + ".eu.auth0.com"
    else:
        host = "a" * (room - 3) + ".io"
    uri = "https://" + host + tail
    assert len(uri) == n
    return uri


def dump(cases, tmp_path):
    """tests/screen_dump.py under MicroPython: every page of every case, as frame buffers."""
    import json

    src = tmp_path / "cases.jsonl"
    src.write_text("".join(json.dumps(c) + "\n" for c in cases))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([MP, "tests/screen_dump.py", str(src), str(out)], cwd=ROOT, env=ENV, check=True,
                   timeout=900)
    for i in range(len(cases)):
        meta = json.loads((out / ("%d.json" % i)).read_text())
        pages = []
        for p in range(len(meta["pages"])):
            raw = (out / ("%d-%d.raw" % (i, p))).read_bytes()
            pages.append(_rows(meta, raw))
        yield meta, pages


def _rows(meta, raw):
    """Rows of booleans (True = light) from a MONO_HLSB or RGB565 frame buffer."""
    import numpy

    w, h = meta["w"], meta["h"]
    if meta["depth"] == 16:
        px = numpy.frombuffer(raw, dtype="<u2").reshape(h, w) == 0xFFFF
    else:
        bits = numpy.unpackbits(numpy.frombuffer(raw, dtype=numpy.uint8)).reshape(h, -1)[:, :w]
        px = bits == 1
    return px.tolist()


def qr_can_exist(data, w, h):
    """Whether any QR symbol (ECC L, its 4-module quiet zone, 1 px a module) holding data fits
    the screen: segno, an independent encoder, picks the smallest version."""
    import segno

    version = segno.make(data, error="L", boost_error=False, micro=False).version
    return version * 4 + 17 + 8 <= min(w, h)


@pytest.fixture(scope="module")
def uri_matrix(tmp_path_factory):
    cases = []
    for d in CLASSES:
        for n in range(40, 121):
            complete = complete_of_length(n)
            cases.append([d, "WDJB-MJHT", complete.split("?")[0], complete])
    return cases, list(dump(cases, tmp_path_factory.mktemp("uris")))


def test_qr_decodes_on_every_class_for_every_uri_from_40_to_120_bytes(uri_matrix):
    cases, results = uri_matrix
    missing = []
    for (d, _, uri, complete), (meta, pages) in zip(cases, results):
        w, h = meta["w"], meta["h"]
        kinds = meta["pages"]
        qr_pages = [p for p, k in enumerate(kinds) if k in ("both", "qr")]
        if qr_can_exist(complete, w, h):
            if not qr_pages:
                missing.append((d, len(complete)))
                continue
        for p in qr_pages:
            factor = max(1, 480 // max(w, h))
            assert complete in decode(w, h, pages[p], factor), (d, len(complete), kinds, meta["ecc"])
        assert len(kinds) == 1 or kinds[0] != "both"  # alternating pages only without room for both
        if "both" not in kinds:
            assert "code" in kinds or "text" in kinds  # the code is always on some page
    assert not missing, missing


def test_ecc_l_only_where_m_does_not_fit(uri_matrix):
    # (tests/unit/test_screen.py shows a URI for which only L fits 128x64)
    import segno

    cases, results = uri_matrix
    for (d, _, _, complete), (meta, _) in zip(cases, results):
        if meta["ecc"] == "L":
            m = segno.make(complete, error="M", boost_error=False, micro=False).version
            w, h = SIZES[d]
            # M would not fit at 1 px, or L is what lets QR and text share one page
            assert m * 4 + 25 > min(w, h) or meta["pages"] == ["both"], (d, len(complete))


def test_128x32_holds_no_qr_of_any_realistic_uri_and_says_why():
    # a fact of the geometry, checked with an independent encoder: 32 rows fit a version 1 symbol
    # with its 4-module quiet zone (21 + 8 = 29), which holds at most 17 bytes at ECC L.
    import segno

    assert segno.make("x" * 17, error="L", boost_error=False, micro=False).version == 1
    assert segno.make("x" * 18, error="L", boost_error=False, micro=False).version == 2
    assert 2 * 4 + 17 + 8 > 32
    assert not qr_can_exist("https://a.io/activate?user_code=WDJB-MJHT", 128, 32)


def _code_for(charset, mask, seed):
    chars = "BCDFGHJKLMNPQRSTVWXZ" if charset == "base20" else "0123456789"
    out = []
    for i, ch in enumerate(mask):
        out.append(chars[(seed * 7 + i * 3) % len(chars)] if ch == "*" else ch)
    return "".join(out)


def _masks():
    """Hyphen and space masks and ungrouped ones, 4 to 20 characters long (Auth0's limit)."""
    out = []
    for n in range(4, 21):
        for sep in ("-", " ", ""):
            group = 4 if n % 2 == 0 else 3
            mask = ""
            while len(mask) < n:
                if mask and sep and len(mask) + len(sep) + 1 <= n and len(mask.replace(sep, "")) % group == 0:
                    mask += sep
                mask += "*"
            out.append(mask[:n])
    return sorted(set(m for m in out if not m.endswith(("-", " "))))


@pytest.fixture(scope="module")
def code_matrix(tmp_path_factory):
    cases = []
    for d in CLASSES:
        for i, mask in enumerate(_masks()):
            charset = "base20" if i % 2 else "digits"
            cases.append([d, _code_for(charset, mask, i), "https://example-tenant.us.auth0.com/activate",
                          COMPLETE])
            cases.append([d, _code_for("digits" if i % 2 else "base20", mask, i + 1),
                          "https://example-tenant.us.auth0.com/activate", COMPLETE])
    return cases, list(dump(cases, tmp_path_factory.mktemp("codes")))


def test_tenant_codes_are_shown_whole_and_grouped_on_every_class(code_matrix):
    import re

    cases, results = code_matrix
    masks = set()
    for (d, code, _, _), (meta, pages) in zip(cases, results):
        masks.add((len(code), " " in code, "-" in code, code.isdigit() or code.replace(" ", "").replace("-", "").isdigit()))
        w, h = meta["w"], meta["h"]
        groups = [g for g in re.split(r"[- ]", code) if g]
        found = False
        for rows in pages:
            pix = bytes(1 if rows[y][x] else 0 for y in range(h) for x in range(w))
            for k in range(w // font.text_width(min(groups, key=len), 1), 0, -1):
                if all(_find(pix, w, h, g, k) for g in groups):
                    found = True
                    break
            if found:
                break
        assert found, (d, code, meta["pages"])
    assert {n for n, *_ in masks} == set(range(4, 21))
    assert any(sp for _, sp, _, _ in masks) and any(hy for _, _, hy, _ in masks)
    assert any(dg for *_, dg in masks) and not all(dg for *_, dg in masks)
