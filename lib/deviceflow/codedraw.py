# Drawing the code screen that deviceflow.codescreen planned: one page whole (the QR, the
# user code, the URI, the countdown). Its own module so that the QR encoder (imported by the
# planning) and this drawing code are never in the heap together: the plan encodes the QR
# and drops the encoder, then this draws.
from deviceflow import font
from deviceflow.textfit import code_fit, code_height, line_metrics, palette, draw_countdown


def draw_page(cs, surface, seconds_left=None, page=0):
    """Draw one page whole; return its countdown rectangle (x, y, w, h)."""
    W = cs.width
    H = cs.height
    light, dark = palette(surface)
    line, gap = line_metrics(H)
    spec = cs.pages[page % len(cs.pages)]
    kind = spec[0]
    surface.fill_rect(0, 0, W, H, light)
    if kind == "both":
        rect = _draw_both(surface, cs.qr, spec[1], line, gap, light, dark)
    elif kind == "qr":
        rect = _draw_qr_page(surface, cs.qr, cs.code, line, gap, light, dark)
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
