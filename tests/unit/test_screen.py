# Screen layouts on every display class, checked through a recording surface:
# every fill_rect lands in a pixel grid, every text call is kept with its place.
from deviceflow import codescreen, font, qr, screen, textfit

CLASSES = (
    ("oled_128x64", 128, 64, 1),
    ("tft_135x240", 135, 240, 16),
    ("tft_320x240", 320, 240, 16),
    ("epaper_250x122", 250, 122, 1),
)
# the newer classes; 128x32 shows its code screen as pages (no QR of a real URI fits 32 rows)
MORE_CLASSES = (
    ("oled_128x32", 128, 32, 1),
    ("tft_240x135", 240, 135, 16),
    ("tft_240x240", 240, 240, 16),
    ("epaper_200x200", 200, 200, 1),
    ("epaper_296x128", 296, 128, 1),
)
# smallest acceptable height in pixels of the user code's glyphs, per class
MIN_CODE_PX = {"oled_128x64": 14, "tft_135x240": 21, "tft_320x240": 28, "epaper_250x122": 28}
CODE = "WDJB-MJHT"
URI = "https://example-tenant.us.auth0.com/activate"
COMPLETE = "https://example-tenant.us.auth0.com/activate?user_code=WDJB-MJHT"


class Recorder:
    """A surface that records: pixels painted by fill_rect, text calls, and anything off-screen."""

    def __init__(self, width, height, depth=1):
        self.width = width
        self.height = height
        self.depth = depth
        self.grid = bytearray(b"\xaa" * (width * height))  # per pixel: 1 light, 0 dark, 0xAA unset
        self._rows = (bytes(width), b"\x01" * width)
        self.texts = []
        self.fills = 0
        self.outside = []

    def _colour(self, c):
        light, dark = screen.palette(self)
        assert c in (light, dark), "colour %r is neither light nor dark" % c
        return 1 if c == light else 0

    def fill_rect(self, x, y, w, h, c):
        self.fills += 1
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > self.width or y + h > self.height:
            self.outside.append(("fill_rect", x, y, w, h))
        row = self._rows[self._colour(c)]
        x0, x1 = max(0, x), min(self.width, x + w)
        if x1 > x0:
            for yy in range(max(0, y), min(self.height, y + h)):
                base = yy * self.width
                self.grid[base + x0:base + x1] = row[:x1 - x0]

    def text(self, s, x, y, c):
        if x < 0 or y < 0 or x + 8 * len(s) > self.width or y + 8 > self.height:
            self.outside.append(("text", s, x, y))
        self.texts.append((s, x, y, self._colour(c)))

    def at(self, x, y):
        return self.grid[y * self.width + x]

    def painted(self):
        return self.grid.find(b"\xaa") < 0

    def darks(self):
        """Indices of dark pixels, in reading order."""
        out = []
        i = self.grid.find(b"\x00")
        while i >= 0:
            out.append(i)
            i = self.grid.find(b"\x00", i + 1)
        return out

    def all_text(self):
        return " ".join(t[0] for t in self.texts)


def code_screen(cls, code=CODE, uri=URI, complete=COMPLETE, seconds=872, surface=None):
    _, w, h, depth = cls
    s = surface or Recorder(w, h, depth)
    rect = codescreen.draw_code_screen(s, code, uri, complete, seconds)
    return s, rect


def find_bitmap(surface, text, scale):
    """Where `text` drawn with the big font at `scale` sits in the grid (its full cell box), or None."""
    w = font.text_width(text, scale)
    h = font.text_height(scale)
    tpl = Recorder(w, h)
    tpl.fill_rect(0, 0, w, h, 1)
    font.draw(tpl, text, 0, 0, scale, 0)
    first = tpl.grid.find(b"\x00")
    fx, fy = first % w, first // w
    W = surface.width
    for i in surface.darks():
        x, y = i % W - fx, i // W - fy
        if x < 0 or y < 0 or x + w > W or y + h > surface.height:
            continue
        ok = True
        for ty in range(h):
            a = (y + ty) * W + x
            if surface.grid[a:a + w] != tpl.grid[ty * w:ty * w + w]:
                ok = False
                break
        if ok:
            return x, y
    return None


def code_scale(surface, code=CODE):
    """Largest scale at which every line of the code (one line, or split after '-') is drawn."""
    options = [[code]]
    if "-" in code:
        i = code.index("-")
        options.append([code[: i + 1], code[i + 1:]])
    for k in range(surface.width // font.text_width(code[:5], 1), 0, -1):
        for lines in options:
            if all(find_bitmap(surface, ln, k) for ln in lines):
                return k
    return 0


def find_qr(surface, matrix):
    """(x, y, s): the QR drawn at s px per module with its top-left data module at (x, y)."""
    n = matrix.size
    W = surface.width
    darks = surface.darks()
    for s in range(8, 0, -1):
        for i in darks:
            x, y = i % W, i // W
            if x + n * s > W or y + n * s > surface.height:
                continue
            if (x > 0 and surface.at(x - 1, y) == 0) or (y > 0 and surface.at(x, y - 1) == 0):
                continue
            if _qr_at(surface, matrix, x, y, s):
                return x, y, s
    return None


def _qr_at(surface, matrix, x0, y0, s):
    n = matrix.size
    for my in range(n):
        for mx in range(n):
            want = 0 if matrix.get(mx, my) else 1
            for dy in range(s):
                for dx in range(s):
                    if surface.at(x0 + mx * s + dx, y0 + my * s + dy) != want:
                        return False
    return True


def quiet_zone_light(surface, matrix, x0, y0, s):
    n = matrix.size
    q = 4 * s
    for y in range(y0 - q, y0 + n * s + q):
        for x in range(x0 - q, x0 + n * s + q):
            inside = x0 <= x < x0 + n * s and y0 <= y < y0 + n * s
            if inside:
                continue
            if x < 0 or y < 0 or x >= surface.width or y >= surface.height or surface.at(x, y) != 1:
                return False
    return True


def test_code_screen_stays_inside_every_display_class():
    for cls in CLASSES + MORE_CLASSES:
        _, w, h, depth = cls
        cs = codescreen.CodeScreen(w, h, CODE, URI, COMPLETE)
        for page in range(len(cs.pages)):
            s = Recorder(w, h, depth)
            rect = cs.draw(s, 872, page)
            assert s.outside == [], (cls[0], page, s.outside[:3])
            x, y, rw, rh = rect
            assert x >= 0 and y >= 0 and x + rw <= s.width and y + rh <= s.height, (cls[0], rect)
            assert s.painted(), cls[0]  # the whole screen was painted
        assert (len(cs.pages) == 1) == (cls[0] != "oled_128x32"), (cls[0], cs.pages)


def test_code_screen_shows_uri_without_scheme_and_host_whole():
    for cls in CLASSES:
        s, _ = code_screen(cls)
        text = "".join(t[0] for t in s.texts)
        assert "example-tenant.us.auth0.com/activate" in text, (cls[0], s.texts)
        assert "https://" not in s.all_text()
        assert "user_code" not in text  # the text URI is verification_uri, the QR carries the rest


def test_user_code_is_drawn_big_exactly_as_received():
    for cls in CLASSES:
        s, _ = code_screen(cls)
        k = code_scale(s)
        assert font.text_height(k) >= MIN_CODE_PX[cls[0]], (cls[0], k)


def test_lowercase_code_keeps_its_case():
    cls = CLASSES[2]
    s, _ = code_screen(cls, code="wdjb-mjht")
    assert code_scale(s, "wdjb-mjht") >= 2
    assert code_scale(s, "WDJB-MJHT") == 0


def test_code_with_characters_outside_the_font_falls_back_to_text():
    s, _ = code_screen(CLASSES[0], code="AB#CD")
    assert "AB#CD" in [t[0] for t in s.texts]
    assert s.outside == []


def test_qr_whole_module_size_with_light_quiet_zone():
    matrix = qr.encode(COMPLETE, "M")
    expected = {"oled_128x64": 1, "tft_135x240": 3, "tft_320x240": 4, "epaper_250x122": 2}
    for cls in CLASSES:
        s, _ = code_screen(cls)
        found = find_qr(s, matrix)
        assert found is not None, cls[0]
        x, y, px = found
        assert px == expected[cls[0]], (cls[0], px)
        assert quiet_zone_light(s, matrix, x, y, px), cls[0]


def test_surface_colours_are_honoured():
    # an e-paper whose buffer uses 1 for black ink: quiet zone must still be paper
    class Inverted(Recorder):
        light = 0
        dark = 1

    s = Inverted(250, 122)
    codescreen.draw_code_screen(s, CODE, URI, COMPLETE, 60)
    matrix = qr.encode(COMPLETE, "M")
    x, y, px = find_qr(s, matrix)
    assert quiet_zone_light(s, matrix, x, y, px)
    assert screen.palette(Recorder(1, 1, 16)) == (0xFFFF, 0)
    assert screen.palette(Recorder(1, 1, 1)) == (1, 0)


def test_countdown_repaints_only_its_rectangle():
    for cls in CLASSES:
        s, rect = code_screen(cls)
        before = bytearray(s.grid)
        s.texts = []
        textfit.draw_countdown(s, rect, 59)
        rx, ry, rw, rh = rect
        for i in range(len(before)):
            if before[i] != s.grid[i]:
                x, y = i % s.width, i // s.width
                assert rx <= x < rx + rw and ry <= y < ry + rh, (cls[0], x, y, rect)
        assert s.texts and s.texts[0][0].startswith("0:59"), (cls[0], s.texts)
        for t, x, y, c in s.texts:
            assert rx <= x and x + 8 * len(t) <= rx + rw and ry <= y and y + 8 <= ry + rh, (cls[0], t)


def test_countdown_text():
    assert textfit.countdown_text(872, 20) == "14:32 left"
    assert textfit.countdown_text(872, 5) == "14:32"
    assert textfit.countdown_text(-3, 20) == "0:00 left"
    assert textfit.countdown_text(None, 20) == ""


def test_poll_indicator_changes_with_phase_inside_the_rectangle():
    for cls in CLASSES:
        s, rect = code_screen(cls)
        rx, ry, rw, rh = rect
        pictures = []
        for phase in range(4):
            textfit.draw_poll_indicator(s, rect, phase)
            pictures.append(bytes(s.grid))
        assert len(set(pictures)) == 4, cls[0]
        assert s.outside == []
        for i in range(len(pictures[0])):
            if pictures[0][i] != pictures[1][i]:
                x, y = i % s.width, i // s.width
                assert rx <= x < rx + rw and ry <= y < ry + rh, cls[0]


def test_messages_fit_the_width_and_show_their_detail():
    long_detail = "The authorization server says: " + "this client is not allowed to use the device flow " * 3
    kinds = ("starting", "connecting", "waiting", "success", "signed_out", "denied", "expired",
             "network", "tls", "provider", "config", "error")
    for cls in CLASSES + MORE_CLASSES:
        for kind in kinds:
            for detail in (None, "client_id", long_detail):
                s = Recorder(cls[1], cls[2], cls[3])
                screen.draw_message(s, kind, detail)
                assert s.outside == [], (cls[0], kind, s.outside[:2])
                assert s.painted()
                assert s.texts, (cls[0], kind)
                if detail == "client_id" and kind not in ("signed_out", "denied", "expired"):
                    assert "client_id" in s.all_text(), (cls[0], kind, s.texts)
                if kind in ("signed_out", "denied", "expired"):
                    assert "Press the button" in s.all_text(), (cls[0], kind, s.texts)
                if detail is long_detail and cls[2] < 48:  # 4 lines: what to do, then the detail cut
                    assert s.all_text().endswith(".."), (cls[0], kind, s.texts)
                elif detail is long_detail:
                    text = s.all_text()
                    assert "The auth" in text and (text.endswith("..") or text.rstrip(")").endswith("device flow")), (cls[0], kind, text)


def test_expired_message_tells_what_to_do():
    s = Recorder(128, 64)
    screen.draw_message(s, "expired")
    words = s.all_text().split()
    for w in ("expired.", "Press", "button", "new", "code."):
        assert w in words, words


def test_messages_never_show_a_token_or_device_code():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMHwxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVlLTEyMzQ1"
    device_code = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
    for kind in ("error", "provider", "tls"):
        s = Recorder(320, 240, 16)
        screen.draw_message(s, kind, "refused token " + jwt + " for " + device_code + " (invalid_grant)")
        text = "".join(t[0] for t in s.texts)
        assert "eyJ" not in text and "GmRhmh" not in text, text
        assert "invalid_grant" in text and "[hidden]" in text


def test_non_ascii_name_uses_one_cell_per_character():
    s = Recorder(128, 64)
    screen.draw_message(s, "success", "Jos\u00e9 \u00c5sa")
    assert "Jos? ?sa" in s.all_text()
    assert s.outside == []


def test_long_host_is_never_dropped():
    uri = "https://a-rather-long-tenant-name-for-testing.eu.auth0.com/activate/device/now"
    cs = codescreen.CodeScreen(128, 64, CODE, uri, uri + "?user_code=WDJB-MJHT")
    s = Recorder(128, 64)
    for page in range(len(cs.pages)):  # the URI may be on a page of its own
        cs.draw(s, 100, page)
    text = "".join(t[0] for t in s.texts)
    assert "a-rather-long-tenant-name-for-testing.eu.auth0.com" in text, s.texts
    assert s.outside == []


def test_uri_too_long_for_any_qr_still_shows_code_and_host():
    uri = "https://example-tenant.us.auth0.com/activate"
    s = Recorder(320, 240, 16)
    codescreen.draw_code_screen(s, CODE, uri, uri + "?x=" + "a" * 3000, 100)
    assert code_scale(s) >= 3
    assert "example-tenant.us.auth0.com" in "".join(t[0] for t in s.texts)


def test_wrap_breaks_uris_after_separators_within_columns():
    lines = textfit.wrap("example-tenant.us.auth0.com/activate", 10, "/.-")
    assert lines == ["example-", "tenant.us.", "auth0.com/", "activate"]
    assert textfit.wrap("no-room-here", 3, " ") == ["no-", "roo", "m-h", "ere"]
    for cols in range(1, 20):
        for ln in textfit.wrap("Code expired. Press the button for a new code.", cols):
            assert len(ln) <= cols


def test_font_covers_codes_and_draws_merged_runs():
    assert font.covers("WDJB-MJHT") and font.covers("abcd 0123") and not font.covers("A#B")
    assert font.text_width("WDJB-MJHT", 3) == (9 * 6 - 1) * 3
    s = Recorder(200, 40)
    font.draw(s, "WDJB-MJHT", 0, 0, 4, 0)
    dark = len(s.darks())
    assert dark % 16 == 0 and dark > 0
    assert s.fills * 2 < dark // 16  # far fewer bus transactions than pixels


def test_ecc_l_when_that_is_what_makes_the_qr_fit():
    # 128x64 holds at most a version 9 symbol at 1 px (53 + 8 quiet modules = 61 rows): a
    # 200-byte URI needs version 10 at ECC M but fits version 9 at L.
    complete = URI + "?user_code=WDJB-MJHT&state=" + "abcdefghij" * 13
    assert len(complete) >= 190
    cs = codescreen.CodeScreen(128, 64, CODE, URI, complete)
    assert cs.qr is not None and cs.qr.ecc == "L" and cs.qr.version <= 9
    s = Recorder(128, 64)
    cs.draw(s, 100, 0)
    found = find_qr(s, cs.qr)
    assert found is not None and quiet_zone_light(s, cs.qr, found[0], found[1], found[2])
    # where M fits, M stays (more damage tolerated)
    assert codescreen.CodeScreen(128, 64, CODE, URI, COMPLETE).qr.ecc == "M"


def test_tiny_screen_pages_show_the_uri_whole_and_the_code_whole():
    long_uri = "https://my-company-production-tenant-name.eu.auth0.com/activate"
    for code in ("WDJB-MJHT", "1234 5678 9012 3456", "BCDF-GHJK-LMNP-QRST-VW", "98765432109876543210"):
        cs = codescreen.CodeScreen(128, 32, code, long_uri, long_uri + "?user_code=x")
        s = Recorder(128, 32)
        uri_text = ""
        for p in range(len(cs.pages)):
            s.texts = []
            cs.draw(s, 100, p)
            assert s.outside == [], (code, p, s.outside[:2])
            if cs.pages[p][0] == "uri":
                uri_text += "".join(t[0] for t in s.texts if t[0] != "Go to")
            if cs.pages[p][0] == "code":
                groups = code.replace("-", " ").split()
                assert any(all(find_bitmap(s, g, k) for g in groups) for k in (3, 2, 1)), code
        assert uri_text == "my-company-production-tenant-name.eu.auth0.com/activate", uri_text
