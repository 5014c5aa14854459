# Screen layouts: the code screen (user code, verification URI, QR code,
# countdown) and one-message screens, drawn on any surface that has width,
# height, fill_rect(x, y, w, h, c) and text(s, x, y, c) (8x8 cells, like
# framebuf). Nothing here imports framebuf, so it runs on CPython too.
#
# Colours: every screen is dark ink on light paper. The surface may name its
# colours with `light` and `dark` attributes; otherwise depth 16 (RGB565) means
# light=0xFFFF (white) dark=0x0000, and mono (depth 1 or absent) means light=1,
# dark=0: a lit OLED pixel and white e-paper are both 1. The QR quiet zone and
# light modules are always `light`, dark modules `dark`, so phones read it.
#
# Layouts adapt to the surface size: landscape puts the QR at the left with the
# text in a column to its right, portrait puts the QR on top. The QR gets the
# largest whole number of pixels per module that still leaves the user code big.
#
# Text fitting (wrapping, scrubbing, code and title scales) lives in deviceflow.textfit;
# printable, scrub, wrap, display_uri and countdown_text stay importable from here.
from deviceflow import font
from deviceflow.textfit import (printable, scrub, wrap, fit_lines, display_uri, code_fit,  # noqa: F401
                                code_height, host_end, countdown_text, title_fit)

_URI_BREAKS = "/.-?&=_"
_IND_W = 16  # width of the poll indicator when it shares the countdown's line

_MESSAGES = {
    "starting": ("STARTING", "Starting up..."),
    "connecting": ("CONNECTING", "Connecting to the network..."),
    "clock": ("SETTING CLOCK", "Setting the clock from the network (NTP)..."),
    "safe_boot": ("SAFE BOOT", "App and watchdog not started."),
    "waiting": ("PLEASE WAIT", "Asking the sign-in server for a code..."),
    "success": ("SIGNED IN", "You are signed in."),
    "signed_out": ("SIGNED OUT", "Press the button to sign in."),
    "denied": ("DENIED", "Sign-in was denied. Press the button to try again."),
    "expired": ("EXPIRED", "Code expired. Press the button for a new code."),
    "network": ("NO NETWORK", "The network is down. Retrying"),
    "tls": ("TLS ERROR", "Certificate or host name not accepted"),
    "provider": ("PROVIDER ERROR", "Check the provider's configuration."),
    "config": ("CONFIG ERROR", "Check the config key:"),
    "error": ("ERROR", "Something went wrong."),
}


_INSTRUCTIONS = ("signed_out", "denied", "expired")


def palette(surface):
    """(light, dark) colours of a surface: paper/quiet zone, ink/QR modules."""
    light = getattr(surface, "light", None)
    dark = getattr(surface, "dark", None)
    if light is None or dark is None:
        if getattr(surface, "depth", 1) == 16:
            return 0xFFFF, 0x0000
        return 1, 0
    return light, dark


def _metrics(h):
    """(line pitch, gap between blocks) for a surface height."""
    return (8, 2) if h < 100 else (10, 4)


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
    line, gap = _metrics(H)
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


def draw_code_screen(surface, user_code, verification_uri, verification_uri_complete=None,
                     seconds_left=None, qr=None):
    """Draw the whole code screen; return the countdown rectangle (x, y, w, h)."""
    W = surface.width
    H = surface.height
    light, dark = palette(surface)
    line, gap = _metrics(H)
    code = printable(user_code, 40)
    uri = display_uri(verification_uri)
    if qr is None:
        qr = _encode(verification_uri_complete or verification_uri)
    modules = qr.size + 8 if qr is not None else 0
    s, under, col = _plan(W, H, modules, uri, code)
    surface.fill_rect(0, 0, W, H, light)
    q = modules * s
    if col is None:  # nothing fits (tiny surface): the code alone
        surface.text(code, 0, 0, dark)
        return (0, H, W, 0)
    col_h = col[0]
    if s and W > H:
        cd_h = (2 * line if H - q >= 2 * line + gap else line) if under else 0
        block = q + (gap + cd_h if under else 0)
        qx, qy = 0, (H - block) // 2
        cx, cw = q + gap, W - q - gap
        cy = (H - col_h) // 2
    elif s:
        qx, qy = (W - q) // 2, (H - q - gap - col_h) // 2
        cx, cw = 2, W - 4
        cy = qy + q + gap
    else:
        cx, cw, cy = 2, W - 4, (H - col_h) // 2
    if s:
        _draw_qr(surface, qr, qx, qy, s, light, dark)
    rect = _draw_column(surface, cx, cy, cw, col, line, gap, dark, not under)
    if under and not s:
        rect = (0, H, W, 0)  # no room for a countdown
    elif under:
        inset = 4 * s if q - 4 * s >= 5 * 8 else 0
        rect = (qx + inset, qy + q + gap, q - inset, cd_h)
    draw_countdown(surface, rect, seconds_left)
    return rect


def _encode(data):
    from deviceflow import qr as qrmod

    try:
        return qrmod.encode(data, "M")
    except ValueError:
        return None  # too long for any QR version: text only


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
    for ln in lines:
        if k:
            font.draw(surface, ln, x + (w - font.text_width(ln, k)) // 2, y, k, dark)
            y += 8 * k
        else:
            surface.text(ln, x + (w - 8 * len(ln)) // 2, y, dark)
            y += 9
    if countdown:
        return (x, y - (k or 1) + gap, w, line)
    return None


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


def _body(kind, body, detail, cols, avail):
    """The message's lines for `avail` lines and whether everything fits."""
    text = wrap(body, cols)
    if kind == "success" and detail:
        text = wrap("Welcome, " + detail, cols)
    elif detail:
        both = wrap(body + (" (" + detail + ")" if kind in ("network", "tls") else " " + detail), cols)
        # the detail wins over generic words, except where those say what to do next
        if len(both) <= avail:
            text = both
        elif kind in _INSTRUCTIONS:
            text = text + wrap(detail, cols)
        else:
            text = wrap(detail, cols)
    return fit_lines(text, avail, cols), len(text) <= avail


def draw_message(surface, kind, detail=None):
    """A one-message screen: a big title and a wrapped explanation (with detail)."""
    W = surface.width
    H = surface.height
    light, dark = palette(surface)
    line, gap = _metrics(H)
    title, body = _MESSAGES.get(kind) or _MESSAGES["error"]
    detail = scrub(printable(detail)).strip()
    margin = 2 if W < 160 else 6
    w = W - 2 * margin
    hmax = H // 3
    while True:  # the biggest title that leaves room for the whole text
        lines, k = title_fit(title, w, hmax)
        title_h = (8 * len(lines) - 1) * k
        text, whole = _body(kind, body, detail, w // 8, max(0, (H - title_h - 2 * gap) // line))
        if whole or k <= 1 or hmax < 8:
            break
        hmax = title_h - 1
    total = title_h + 2 * gap + len(text) * line
    y = max(0, (H - total) // 2)
    surface.fill_rect(0, 0, W, H, light)
    for ln in lines if k else ():
        font.draw(surface, ln, (W - font.text_width(ln, k)) // 2, y, k, dark)
        y += 8 * k
    y += 2 * gap - k
    for ln in text:
        surface.text(ln, margin, y, dark)
        y += line
