# Message screens (a big title and a wrapped explanation), drawn on any surface that has
# width, height, fill_rect(x, y, w, h, c) and text(s, x, y, c) (8x8 cells, like framebuf).
# Nothing here imports framebuf, so it runs on CPython too. The code screen (QR, user code,
# URI, countdown) is deviceflow.codescreen.
#
# Colours: every screen is dark ink on light paper. The surface may name its
# colours with `light` and `dark` attributes; otherwise depth 16 (RGB565) means
# light=0xFFFF (white) dark=0x0000, and mono (depth 1 or absent) means light=1,
# dark=0: a lit OLED pixel and white e-paper are both 1. The QR quiet zone and
# light modules are always `light`, dark modules `dark`, so phones read it.
#
# Text fitting (wrapping, scrubbing, code and title scales) lives in deviceflow.textfit.
from deviceflow import font
from deviceflow.textfit import printable, scrub, wrap, fit_lines, title_fit, line_metrics, palette


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
    line, gap = line_metrics(H)
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
    if not whole and H < 48:  # a 128x32 strip: the words matter more than the title
        lines, k, title_h = (), 0, -2 * gap
        text, whole = _body(kind, body, detail, w // 8, H // line)
    total = title_h + 2 * gap + len(text) * line
    y = max(0, (H - total) // 2)
    surface.fill_rect(0, 0, W, H, light)
    for ln in lines if k else ():
        font.draw(surface, ln, (W - font.text_width(ln, k)) // 2, y, k, dark)
        y += 8 * k
    if lines:
        y += 2 * gap - k
    for ln in text:
        surface.text(ln, margin, y, dark)
        y += line
