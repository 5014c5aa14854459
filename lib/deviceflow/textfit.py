# Text fitting for the screens (deviceflow.screen): one-cell characters, hiding secret-looking
# runs, greedy wrapping at word or URI boundaries, cutting to a number of lines, the display
# form of a URI, the countdown text, and the biggest scale at which the user code or a title
# fits a box in the bitmap font (deviceflow.font). Nothing here draws.
from deviceflow import font


def printable(s, limit=300):
    """s as one-cell characters (non-ASCII and controls -> '?'), at most limit long."""
    if s is None:
        return ""
    out = []
    for ch in str(s)[:limit]:
        o = ord(ch)
        out.append(ch if (31 < o < 127 or ch == "\n") else "?")
    return "".join(out)


def _is_word(ch):
    return ch.isalpha() or ch.isdigit() or ch == "_"


def scrub(s):
    """Hide secret-looking runs: 20+ [A-Za-z0-9_] characters mixing letters and digits
    (device codes, tokens, JWT parts) become '[hidden]'."""
    out = []
    i = 0
    n = len(s)
    while i < n:
        j = i
        digit = alpha = False
        while j < n and _is_word(s[j]):
            digit = digit or s[j].isdigit()
            alpha = alpha or s[j].isalpha()
            j += 1
        if j > i:
            out.append("[hidden]" if (j - i >= 20 and digit and alpha) else s[i:j])
            i = j
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def wrap(s, cols, breaks=" "):
    """Greedy wrap to lines of at most cols characters, cutting at a space
    (dropped) or after one of `breaks`, else hard."""
    lines = []
    if cols < 1:
        return lines
    for para in s.split("\n"):
        while len(para) > cols:
            cut = 0
            for i in range(cols, 0, -1):
                if para[i] == " ":
                    cut = i
                    break
                if para[i - 1] in breaks and para[i - 1] != " ":
                    cut = i
                    break
            if cut == 0:
                cut = cols
            lines.append(para[:cut].rstrip())
            para = para[cut:].lstrip()
        if para or not lines:
            lines.append(para)
    return lines


def fit_lines(lines, n, cols):
    """At most n lines; when cut, the last one ends with '..'."""
    if len(lines) <= n:
        return lines
    lines = lines[:n]
    if n:
        last = lines[-1]
        lines[-1] = (last if len(last) + 2 <= cols else last[:-2]) + ".."
    return lines


def display_uri(uri):
    """The URI as shown: printable, without "https://" and a trailing slash."""
    uri = printable(uri, 200)
    if uri.startswith("https://"):
        uri = uri[8:]
    if uri.endswith("/"):
        uri = uri[:-1]
    return uri


def _groups(code):
    """The code's groups as the tenant's mask makes them: a hyphen stays with the group
    before it, a space between groups is dropped at a line break."""
    out = []
    start = 0
    for i in range(1, len(code) - 1):
        if code[i] in "- ":
            out.append(code[start:i + 1].rstrip())
            start = i + 1
    out.append(code[start:])
    return out


def split_code(code):
    """Ways to show the code: on one line, then on 2, 3 ... lines, broken only between the
    groups of its mask, each way as even as it gets (shortest longest line)."""
    groups = _groups(code)
    opts = [[code]]
    for n in range(2, len(groups) + 1):
        target = (len(code) + n - 1) // n
        while True:  # pack greedily within `target` characters a line, widening until n lines do
            lines = []
            cur = ""
            for g in groups:
                joined = cur + (" " if cur and not cur.endswith("-") else "") + g if cur else g
                if cur and len(joined) > target:
                    lines.append(cur)
                    cur = g
                else:
                    cur = joined
            lines.append(cur)
            if len(lines) <= n:
                break
            target += 1
        if len(lines) == n:
            opts.append(lines)
    return opts


def code_fit(code, w, budget):
    """(lines, scale) of the biggest user code that fits w x budget, broken only between the
    groups of its mask; scale 0 means the surface's 8x8 text (for characters the font lacks).
    None: no fit."""
    best = None
    if font.covers(code):
        for lines in split_code(code):
            n = len(lines)
            k = w
            for ln in lines:
                k = min(k, font.max_scale(ln, w))
            while k > 0 and (8 * n - 1) * k > budget:
                k -= 1
            if k > 0 and (best is None or k > best[1]):
                best = (lines, k)
    if best is None and not font.covers(code):  # a code the font cannot draw: 8x8 text, wrapped
        lines = wrap(code, w // 8, "-")
        if lines and len(lines) * 9 - 1 <= budget:
            best = (lines, 0)
    return best


def code_height(fit):
    lines, k = fit
    return (8 * len(lines) - 1) * k if k else len(lines) * 9 - 1


def host_end(uri):
    """Length of the scheme and host part of a display URI."""
    start = uri.find("://")
    start = start + 3 if start >= 0 else 0
    end = uri.find("/", start)
    return end if end >= 0 else len(uri)


def countdown_text(seconds_left, cols):
    """"M:SS left" (or "M:SS" when narrow) in at most cols characters; "" when unknown."""
    if seconds_left is None:
        return ""
    t = max(0, int(seconds_left))
    ss = t % 60
    s = "%d:%s%d" % (t // 60, "0" if ss < 10 else "", ss)
    if len(s) + 5 <= cols:
        s += " left"
    return s[:cols]


def title_fit(title, w, hmax):
    """(lines, scale) of the biggest title, on one line or two, at most w wide and hmax high."""
    best = ([title], min(font.max_scale(title, w), hmax // 7, 4))
    if " " in title and best[1] < 3:
        lines = split_code(title)[1]
        k = min(font.max_scale(lines[0], w), font.max_scale(lines[1], w), hmax // 15, 4)
        if k > best[1]:
            best = (lines, k)
    return best


def line_metrics(h):
    """(line pitch, gap between blocks) for a surface height."""
    return (8, 2) if h < 100 else (10, 4)


def palette(surface):
    """(light, dark) colours of a surface: paper/quiet zone, ink/QR modules."""
    light = getattr(surface, "light", None)
    dark = getattr(surface, "dark", None)
    if light is None or dark is None:
        if getattr(surface, "depth", 1) == 16:
            return 0xFFFF, 0x0000
        return 1, 0
    return light, dark


# The countdown rectangle a code screen leaves (x, y, w, h) holds the countdown and a poll
# indicator. They are redrawn every second while the code is shown, so they live here, in the
# module the message screens keep loaded, and the code screen's own module can go once drawn.
IND_W = 16  # width of the poll indicator when it shares the countdown's line


def _zone(surface, rect, which, min_w, min_h):
    """(light, dark, x, y, w, h) of the countdown (which=0) or indicator (1) zone of rect,
    cleared; None when it is too small to draw in."""
    x, y, w, h = rect
    if h >= 16:
        half = h // 2
        z = ((x, y, w, half), (x, y + half, w, h - half))[which]
    else:
        iw = IND_W if w >= 6 * 8 + IND_W else 0
        z = ((x, y, w - iw, h), (x + w - iw, y, iw, h))[which]
    if z[2] < min_w or z[3] < min_h:
        return None
    light, dark = palette(surface)
    surface.fill_rect(z[0], z[1], z[2], z[3], light)
    return (light, dark) + z


def draw_countdown(surface, rect, seconds_left):
    """Repaint only the countdown part of rect with the time left."""
    z = _zone(surface, rect, 0, 8, 8)
    if z:
        surface.text(countdown_text(seconds_left, z[4] // 8), z[2], z[3], z[1])


def draw_poll_indicator(surface, rect, phase):
    """A small waiting indicator (four dots, one big) in its part of rect."""
    z = _zone(surface, rect, 1, 8, 4)
    if not z:
        return
    dark, x, y, w, h = z[1:]
    d = 3 if h >= 6 else 2
    cy = y + (min(h, 8) - d) // 2
    step = min(4, w // 4)
    for i in range(4):
        if i == phase % 4:
            surface.fill_rect(x + i * step, cy, d, d, dark)
        else:
            surface.fill_rect(x + i * step + 1, cy + 1, 1, 1, dark)
