# The code screen: user code, verification URI, QR code and countdown, planned once for a
# surface (CodeScreen) and drawn page by page; then only its countdown and poll indicator are
# redrawn (draw_countdown, draw_poll_indicator). Layouts adapt to the surface size: landscape
# puts the QR at the left with the text in a column to its right, portrait puts the QR on
# top. The QR gets the largest whole number of pixels per module that still leaves the user
# code big. When QR and text do not fit together, the code screen has pages the app shows in
# turn: the QR alone with its quiet zone, then the text. The QR is encoded here only (ECC M,
# or L when only L fits), never bigger than the screen can show; text alone when no QR fits.
#
# Its own module, apart from the message screens (deviceflow.screen): only the sign-in needs
# it, and while it encodes the QR the message code need not be in the heap (firmware's
# display.py drops one while the other works; deviceflow/phase.py).
from deviceflow import font
from deviceflow.phase import drop
from deviceflow.textfit import (printable, wrap, fit_lines, display_uri, code_fit, code_height, host_end,
                                line_metrics, palette, countdown_text)

_URI_BREAKS = "/.-?&=_"
_IND_W = 16  # width of the poll indicator when it shares the countdown's line


def _column(w, h, uri, code, line, gap, countdown):
    """Best text column for w x h: (height, labels, uri_lines, code_fit) or None."""
    uri_lines = wrap(uri, w // 8, _URI_BREAKS)
    if not uri_lines:
        return None
    fit = None
    tail = (gap + line) if countdown else 0
    best = None
    host = host_end(uri)
    for labels in (False, True):
        shown = 0
        for ln in uri_lines:
            shown += len(ln)
        for n in range(len(uri_lines), 0, -1):
            if n < len(uri_lines):
                shown -= len(uri_lines[n])
                if shown - (0 if len(uri_lines[n - 1]) + 2 <= w // 8 else 2) < host:  # never cut the host
                    fit = None
                    break
            fixed = (n + (2 if labels else 0)) * line + gap + tail
            fit = code_fit(code, w, h - fixed) if fixed < h else None
            if fit is not None:
                break
        if fit is None:
            continue
        cand = (fixed + code_height(fit), labels, fit_lines(uri_lines, n, w // 8), fit)
        if best is None or len(cand[2]) > len(best[2]) or (
                len(cand[2]) == len(best[2]) and fit[1] >= best[3][1]):
            best = cand
    return best


def _plan(W, H, modules, uri, code):
    """Choose the QR scale and the text column. modules: QR size with quiet zone (0: no QR)."""
    line, gap = line_metrics(H)
    landscape = W > H
    fallback = None
    if modules:
        for s in range(min(W, H) // modules, 0, -1):
            q = modules * s
            if landscape:
                under = H - q >= line * 2 + gap or (H - q >= line and q >= 10 * 8 + _IND_W)
                col = _column(W - q - gap, H, uri, code, line, gap, not under)
            else:
                under = False
                col = _column(W, H - q - gap, uri, code, line, gap, True)
            if col is None:
                continue
            full = len(col[2]) == len(wrap(uri, (W - q - gap if landscape else W) // 8, _URI_BREAKS))
            plan = (s, under, col)
            if full and (col[3][1] == 0 or col[3][1] >= min(s, 4)):
                return plan
            if fallback is None or (full and not fallback[3]):
                fallback = plan + (full,)
        if fallback is not None:
            return fallback[:3]
    col = _column(W - 4, H, uri, code, line, gap, True)
    if col is None:  # a very small screen: the code and URI matter more than the countdown
        return (0, True, _column(W - 4, H, uri, code, line, gap, False))
    return (0, False, col)


class Symbol:
    """An encoded QR's modules, kept by the code screen for its pages. Not deviceflow.qr's
    QRCode: an instance of that class would keep the whole encoder's code in the heap."""

    def __init__(self, size, stride, modules, ecc):
        self.size = size
        self.version = (size - 17) // 4
        self.stride = stride
        self.modules = modules
        self.ecc = ecc

    def get(self, x, y):
        return bool((self.modules[y * self.stride + (x >> 3)] >> (7 - (x & 7))) & 1)


def _encode(data, ecc, side):
    """The QR of data at level ecc that fits `side` pixels at 1 px per module with its
    quiet zone, or None (too long for such a symbol). Nothing bigger is ever built."""
    vmax = min(40, (side - 25) // 4)
    if vmax < 1:
        return None
    from deviceflow import qr as qrmod

    try:
        q = qrmod.encode(data, ecc, max_version=vmax)
        return Symbol(q.size, q.stride, q.modules, q.ecc)
    except ValueError:
        return None
    finally:  # the encoder is the largest code of the sign-in: drop it once the symbol exists
        del qrmod
        drop("deviceflow.qr", "deviceflow.qr_tables")


def _text_pages(W, H, uri, code, line, gap):
    """The text part of a paged code screen: one page with the URI and the code when both
    fit whole (the code at least twice the font size), else a URI page and a code page."""
    cols = (W - 4) // 8
    col = _column(W - 4, H, uri, code, line, gap, True)
    if col is not None and len(col[2]) == len(wrap(uri, cols, _URI_BREAKS)) and col[3][1] != 1:
        return (("text", col),)
    lines = wrap(uri, cols, _URI_BREAKS)
    per = max(1, H // line)
    if len(lines) < per:  # "Go to" above the URI
        pages = (("uri", lines, True),)
    else:  # a URI too long for one page goes on as many as it takes, never cut
        pages = tuple(("uri", lines[i:i + per], False) for i in range(0, len(lines), per))
    best = None
    for countdown in (True, False):  # the countdown stays unless it makes the code tiny
        for label in (True, False):  # "Enter code" above it unless that makes the code smaller
            used = (line + gap if label else 0) + (gap + line if countdown else 0)
            fit = code_fit(code, W - 4, H - used) if used < H else None
            if fit is not None and (best is None or fit[1] > best[1][1]):
                best = ("code", fit, label, countdown)
        if best is not None and (best[1][1] >= 2 or best[1][1] == 0):
            break
    return pages + ((best or ("code", (wrap(code, cols, "- "), 0), False, False)),)


class CodeScreen:
    """The code screen planned once for a W x H surface. pages: one page with the QR beside
    (or above) the text; or, when they do not fit together, pages shown in turn: the QR with
    its quiet zone, then the code and URI (on two pages when a screen is very small)."""

    def __init__(self, W, H, user_code, verification_uri, verification_uri_complete=None, qr=None):
        self.width = W
        self.height = H
        self.code = printable(user_code, 40)
        self.uri = display_uri(verification_uri)
        data = verification_uri_complete or verification_uri
        paged = None
        # ECC M first; L only when M's symbol does not fit beside the text (or at all).
        for ecc in ("M", "L") if qr is None else (None,):
            q = qr if ecc is None else _encode(data, ecc, min(W, H))
            if q is None:
                continue
            plan = _plan(W, H, q.size + 8, self.uri, self.code)
            if plan[0]:
                self.qr = q
                self.pages = (("both", plan),)
                return
            if paged is None and (q.size + 8) <= min(W, H):
                paged = q
        self.qr = paged
        line, gap = line_metrics(H)
        text = _text_pages(W, H, self.uri, self.code, line, gap)
        self.pages = ((("qr",),) + text) if paged is not None else text

    def draw(self, surface, seconds_left=None, page=0):
        """Draw one page whole; return its countdown rectangle (x, y, w, h)."""
        W = self.width
        H = self.height
        light, dark = palette(surface)
        line, gap = line_metrics(H)
        spec = self.pages[page % len(self.pages)]
        kind = spec[0]
        surface.fill_rect(0, 0, W, H, light)
        if kind == "both":
            rect = _draw_both(surface, self.qr, spec[1], line, gap, light, dark)
        elif kind == "qr":
            rect = _draw_qr_page(surface, self.qr, self.code, line, gap, light, dark)
        elif kind == "text":
            col = spec[1]
            rect = _draw_column(surface, 2, (H - col[0]) // 2, W - 4, col, line, gap, dark, True)
        elif kind == "uri":
            lines, label = spec[1], spec[2]
            y = (H - (len(lines) + (1 if label else 0)) * line) // 2
            if label:
                surface.text("Go to", 2, y, dark)
                y += line
            for ln in lines:
                surface.text(ln, 2, y, dark)
                y += line
            rect = (0, H, W, 0)
        else:
            rect = _draw_code_block(surface, spec, 2, 0, W - 4, H, line, gap, dark)
        draw_countdown(surface, rect, seconds_left)
        return rect


def draw_code_screen(surface, user_code, verification_uri, verification_uri_complete=None,
                     seconds_left=None, qr=None, page=0):
    """Draw one page of the code screen; return the countdown rectangle (x, y, w, h)."""
    cs = CodeScreen(surface.width, surface.height, user_code, verification_uri,
                    verification_uri_complete, qr)
    return cs.draw(surface, seconds_left, page)


def _draw_code_block(surface, spec, x, y, w, h, line, gap, dark):
    """A ("code", fit, label, countdown) block centred in the box; its countdown rectangle."""
    _, fit, label, countdown = spec
    lines, k = fit
    total = (line + gap if label else 0) + code_height(fit) + (gap + line if countdown else 0)
    y += max(0, (h - total) // 2)
    if label:
        surface.text("Enter code", x + (w - 80) // 2 if w >= 80 else x, y, dark)
        y += line + gap
    _draw_code_lines(surface, lines, k, x, y, w, dark)
    y += code_height(fit)
    if countdown:
        return (x, y + gap, w, line)
    return (0, surface.height, surface.width, 0)


def _draw_qr_page(surface, qr, code, line, gap, light, dark):
    """The QR as big as it fits with its quiet zone; the code beside or under it when there is
    room (so it can be compared with the phone's), and the countdown."""
    W = surface.width
    H = surface.height
    modules = qr.size + 8
    s = min(W, H) // modules
    q = modules * s
    if W > H:
        qx, qy = 0, (H - q) // 2
        bx, by, bw, bh = q + gap, 0, W - q - gap, H
    else:
        qx, qy = (W - q) // 2, 0
        bx, by, bw, bh = 2, q + gap, W - 4, H - q - gap
    _draw_qr(surface, qr, qx, qy, s, light, dark)
    for countdown in (True, False):
        budget = bh - (gap + line if countdown else 0)
        fit = code_fit(code, bw, budget) if budget > 0 and bw >= 8 else None
        if fit is not None:
            return _draw_code_block(surface, ("code", fit, False, countdown), bx, by, bw, bh, line, gap, dark)
    if bw >= 40 and bh >= line:
        return (bx, by + (bh - line) // 2, bw, line)
    return (0, H, W, 0)


def _draw_both(surface, qr, plan, line, gap, light, dark):
    """The QR and the text on one page (_plan)."""
    W = surface.width
    H = surface.height
    s, under, col = plan
    q = (qr.size + 8) * s
    col_h = col[0]
    if W > H:
        cd_h = (2 * line if H - q >= 2 * line + gap else line) if under else 0
        block = q + (gap + cd_h if under else 0)
        qx, qy = 0, (H - block) // 2
        cx, cw = q + gap, W - q - gap
        cy = (H - col_h) // 2
    else:
        qx, qy = (W - q) // 2, (H - q - gap - col_h) // 2
        cx, cw = 2, W - 4
        cy = qy + q + gap
    _draw_qr(surface, qr, qx, qy, s, light, dark)
    rect = _draw_column(surface, cx, cy, cw, col, line, gap, dark, not under)
    if under:
        inset = 4 * s if q - 4 * s >= 5 * 8 else 0
        rect = (qx + inset, qy + q + gap, q - inset, cd_h)
    return rect


def _draw_qr(surface, qr, x, y, s, light, dark):
    n = qr.size
    surface.fill_rect(x, y, (n + 8) * s, (n + 8) * s, light)
    x += 4 * s
    y += 4 * s
    get = qr.get
    fill = surface.fill_rect
    for my in range(n):
        mx = 0
        while mx < n:
            if get(mx, my):
                start = mx
                mx += 1
                while mx < n and get(mx, my):
                    mx += 1
                fill(x + start * s, y + my * s, (mx - start) * s, s, dark)
            else:
                mx += 1


def _draw_column(surface, x, y, w, col, line, gap, dark, countdown):
    _, labels, uri_lines, fit = col
    if labels:
        surface.text("Go to", x, y, dark)
        y += line
    for ln in uri_lines:
        surface.text(ln, x, y, dark)
        y += line
    y += gap
    if labels:
        surface.text("Enter code", x, y, dark)
        y += line
    lines, k = fit
    _draw_code_lines(surface, lines, k, x, y, w, dark)
    y += code_height(fit) + (k or 1)
    if countdown:
        return (x, y - (k or 1) + gap, w, line)
    return None


def _draw_code_lines(surface, lines, k, x, y, w, dark):
    for ln in lines:
        if k:
            font.draw(surface, ln, x + (w - font.text_width(ln, k)) // 2, y, k, dark)
            y += 8 * k
        else:
            surface.text(ln, x + (w - 8 * len(ln)) // 2, y, dark)
            y += 9


def _zones(rect):
    """(countdown zone, indicator zone) inside the countdown rectangle."""
    x, y, w, h = rect
    if h >= 16:
        half = h // 2
        return (x, y, w, half), (x, y + half, w, h - half)
    iw = _IND_W if w >= 6 * 8 + _IND_W else 0
    return (x, y, w - iw, h), (x + w - iw, y, iw, h)


def draw_countdown(surface, rect, seconds_left):
    """Repaint only the countdown part of rect with the time left."""
    light, dark = palette(surface)
    x, y, w, h = _zones(rect)[0]
    if w < 8 or h < 8:
        return
    surface.fill_rect(x, y, w, h, light)
    surface.text(countdown_text(seconds_left, w // 8), x, y, dark)


def draw_poll_indicator(surface, rect, phase):
    """A small waiting indicator (four dots, one big) in its part of rect."""
    light, dark = palette(surface)
    x, y, w, h = _zones(rect)[1]
    if w < 8 or h < 4:
        return
    surface.fill_rect(x, y, w, h, light)
    d = 3 if h >= 6 else 2
    cy = y + (min(h, 8) - d) // 2
    step = min(4, w // 4)
    for i in range(4):
        if i == phase % 4:
            surface.fill_rect(x + i * step, cy, d, d, dark)
        else:
            surface.fill_rect(x + i * step + 1, cy + 1, 1, 1, dark)
