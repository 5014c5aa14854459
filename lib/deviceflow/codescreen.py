# The code screen: user code, verification URI, QR code and countdown, planned once for a
# surface (CodeScreen) and drawn page by page; then only its countdown and poll indicator are
# redrawn (deviceflow.textfit: draw_countdown, draw_poll_indicator, so this module can go). Layouts adapt to the surface size: landscape
# puts the QR at the left with the text in a column to its right, portrait puts the QR on
# top. The QR gets the largest whole number of pixels per module that still leaves the user
# code big. When QR and text do not fit together, the code screen has pages the app shows in
# turn: the QR alone with its quiet zone, then the text. The QR is encoded here only (ECC M,
# or L when only L fits), never bigger than the screen can show; text alone when no QR fits.
#
# Its own module, apart from the message screens (deviceflow.screen): only the sign-in needs
# it, and while it encodes the QR the message code need not be in the heap (firmware's
# display.py drops one while the other works; deviceflow/phase.py).
from deviceflow.phase import drop
from deviceflow.textfit import (IND_W, printable, wrap, fit_lines, display_uri, code_fit, code_height,
                                host_end, line_metrics)

_URI_BREAKS = "/.-?&=_"


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
                under = H - q >= line * 2 + gap or (H - q >= line and q >= 10 * 8 + IND_W)
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
        from deviceflow.codedraw import draw_page

        return draw_page(self, surface, seconds_left, page)


def draw_code_screen(surface, user_code, verification_uri, verification_uri_complete=None,
                     seconds_left=None, qr=None, page=0):
    """Draw one page of the code screen; return the countdown rectangle (x, y, w, h)."""
    cs = CodeScreen(surface.width, surface.height, user_code, verification_uri,
                    verification_uri_complete, qr)
    return cs.draw(surface, seconds_left, page)
