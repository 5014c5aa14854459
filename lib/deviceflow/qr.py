# QR Code model 2 encoder (ISO/IEC 18004), versions 1-40, ECC L/M/Q/H.
#
#   encode(data, ecc="M", version=None, mask=None, min_version=1) -> QRCode
#
# Built for a small MicroPython heap: each row of the symbol is one int (bit x =
# module x), so masking and the N1-N4 penalty rules cost a few shifts per row; the
# 8 mask trials reuse the same row and column lists; Reed-Solomon runs in one
# bytearray (qr_tables). Segments are chosen by an exact shortest-bit-stream search
# over the numeric, alphanumeric and byte modes. The result is bit-packed rows.
from deviceflow.qr_tables import (
    ALNUM, CC_BITS, CLASS_LOW, CLASS_TOP, COL_MASKS, ECC_FORMAT, POP, REV, ROW_MASKS,
    align_positions, codewords, data_codewords)

NUMERIC, ALPHANUMERIC, BYTE = 0, 1, 2
_INF = 1 << 24


class QRCode:
    """A QR symbol: size x size modules, `modules` bit-packed rows, MSB = leftmost module."""

    def __init__(self, version, ecc, mask, modules):
        self.version = version
        self.ecc = ecc
        self.mask = mask
        self.size = version * 4 + 17
        self.stride = (self.size + 7) >> 3
        self.modules = modules

    def get(self, x, y):
        """True when the module at column x, row y is dark."""
        return bool((self.modules[y * self.stride + (x >> 3)] >> (7 - (x & 7))) & 1)


def plan(data, cls, modes):
    """Fill modes[i] with the mode of byte i for the shortest bit stream; return its bit count.

    cls is the character-count class (0: versions 1-9, 1: 10-26, 2: 27-40)."""
    n = len(data)
    if not n:
        return 0
    an = ALNUM
    h0 = (4 + CC_BITS[cls]) * 6
    h1 = (4 + CC_BITS[3 + cls]) * 6
    h2 = (4 + CC_BITS[6 + cls]) * 6
    back = bytearray(3 * n)
    a = an[data[0]]
    c0 = h0 + 20 if a < 10 else _INF
    c1 = h1 + 33 if a < 45 else _INF
    c2 = h2 + 48
    for i in range(1, n):
        r0 = (c0 + 5) // 6 * 6
        r1 = (c1 + 5) // 6 * 6
        r2 = (c2 + 5) // 6 * 6
        a = an[data[i]]
        j = 3 * i
        b2 = c2 + 48
        t = r0 + h2 + 48
        if t < b2:
            b2 = t
            back[j + 2] = 0
        else:
            back[j + 2] = 2
        t = r1 + h2 + 48
        if t < b2:
            b2 = t
            back[j + 2] = 1
        b1 = b0 = _INF
        if a < 45:
            b1 = c1 + 33
            back[j + 1] = 1
            t = r0 + h1 + 33
            if t < b1:
                b1 = t
                back[j + 1] = 0
            t = r2 + h1 + 33
            if t < b1:
                b1 = t
                back[j + 1] = 2
            if a < 10:
                b0 = c0 + 20
                t = r1 + h0 + 20
                if t < b0:
                    b0 = t
                    back[j] = 1
                t = r2 + h0 + 20
                if t < b0:
                    b0 = t
                    back[j] = 2
        c0, c1, c2 = b0, b1, b2
    m = 0
    best = c0
    if c1 < best:
        m, best = 1, c1
    if c2 < best:
        m, best = 2, c2
    for i in range(n - 1, -1, -1):
        modes[i] = m
        m = back[3 * i + m]
    return (best + 5) // 6


def _put(buf, pos, val, n):
    # append the n low bits of val, MSB first, at bit position pos
    while n:
        i = pos >> 3
        free = 8 - (pos & 7)
        if n <= free:
            buf[i] |= val << (free - n)
            return pos + n
        n -= free
        buf[i] |= val >> n
        val &= (1 << n) - 1
        pos += free
    return pos


def _write(data, modes, cls, buf):
    an = ALNUM
    n = len(data)
    pos = i = 0
    while i < n:
        m = modes[i]
        j = i + 1
        while j < n and modes[j] == m:
            j += 1
        pos = _put(buf, pos, 1 << m, 4)
        pos = _put(buf, pos, j - i, CC_BITS[m * 3 + cls])
        if m == BYTE:
            for k in range(i, j):
                pos = _put(buf, pos, data[k], 8)
        elif m == ALPHANUMERIC:
            k = i
            while k + 1 < j:
                pos = _put(buf, pos, an[data[k]] * 45 + an[data[k + 1]], 11)
                k += 2
            if k < j:
                pos = _put(buf, pos, an[data[k]], 6)
        else:
            k = i
            while k + 2 < j:
                pos = _put(buf, pos, (data[k] - 48) * 100 + (data[k + 1] - 48) * 10 + data[k + 2] - 48, 10)
                k += 3
            if k + 1 < j:
                pos = _put(buf, pos, (data[k] - 48) * 10 + data[k + 1] - 48, 7)
            elif k < j:
                pos = _put(buf, pos, data[k] - 48, 4)
        i = j
    return pos


def _function_patterns(v, n):
    # reserved-module rows and dark function-module rows; both sets are symmetric,
    # so the same lists also serve as columns
    res = [0] * n
    dark = [0] * n
    corner = 0x1FF | (0xFF << (n - 8))  # finders, separators and format areas
    for y in range(n):
        res[y] = corner if y < 9 else (0x1FF if y >= n - 8 else 0) | 0x40
    res[6] = (1 << n) - 1
    for i in range(7):
        p = 0x7F if i in (0, 6) else (0x41 if i in (1, 5) else 0x5D)
        dark[i] |= p | (p << (n - 7))
        dark[n - 7 + i] |= p
    for x in range(8, n - 8, 2):
        dark[6] |= 1 << x
        dark[x] |= 1 << 6
    pos = align_positions(v)
    last = len(pos) - 1
    for a, cy in enumerate(pos):
        for b, cx in enumerate(pos):
            if (a == 0 and b in (0, last)) or (a == last and b == 0):
                continue
            for i in range(5):
                p = 0x1F if i in (0, 4) else (0x15 if i == 2 else 0x11)
                dark[cy - 2 + i] |= p << (cx - 2)
                res[cy - 2 + i] |= 0x1F << (cx - 2)
    if v >= 7:
        for i in range(6):
            res[i] |= 7 << (n - 11)
            res[n - 11] |= 1 << i
            res[n - 10] |= 1 << i
            res[n - 9] |= 1 << i
    return res, dark


def _place(cw, res, rows, cols, n):
    # zigzag codeword placement (ISO/IEC 18004 7.7.3) into rows and columns at once;
    # cw carries one spare zero byte for the remainder bits
    bi = 0
    x = n - 1
    up = True
    while x > 0:
        if x == 6:
            x = 5
        x1 = x - 1
        bx = 1 << x
        bx1 = 1 << x1
        for t in range(n):
            y = n - 1 - t if up else t
            r = res[y]
            if not r & bx:
                if (cw[bi >> 3] << (bi & 7)) & 0x80:
                    rows[y] |= bx
                    cols[x] |= 1 << y
                bi += 1
            if not r & bx1:
                if (cw[bi >> 3] << (bi & 7)) & 0x80:
                    rows[y] |= bx1
                    cols[x1] |= 1 << y
                bi += 1
        up = not up
        x -= 2


def _penalty(lines, dm, pats, off, per, n, full):
    # N1 + N3 (+ N2 and dark count when full) of one orientation, one mask.
    # Returns score << 16 | dark modules.
    w = (1 << n) - 1
    w1 = w >> 1
    wp = (1 << (n + 8)) - 1
    pop = POP
    s = dark = prev = 0
    for i in range(n):
        r = lines[i] ^ (pats[off + i % per] & dm[i])
        e = ~(r ^ (r >> 1)) & w1  # bit x: module x equals module x+1
        a = e & (e >> 1)
        a &= a >> 2  # bit x: modules x..x+4 all the same colour
        if a:
            g = a & ~(a >> 1)
            while a:
                a &= a - 1
                s += 1
            while g:
                g &= g - 1
                s += 2
        p = r << 4  # four light modules beyond each edge
        c = p & (p >> 2) & (p >> 3) & (p >> 4) & (p >> 6)
        if c:
            q = wp ^ p
            c &= (q >> 1) & (q >> 5)  # dark:light:dark x3:light:dark
            if c:
                q &= q >> 1
                q &= q >> 2  # bit x: modules x..x+3 light
                c &= (q << 4) | (q >> 7)
                while c:
                    c &= c - 1
                    s += 40
        if full:
            if i:
                v = ~(r ^ prev) & w
                v &= (v >> 1) & e  # 2x2 blocks of one colour
                while v:
                    v &= v - 1
                    s += 3
            prev = r
            dark += pop[r & 255] + pop[(r >> 8) & 255] + pop[(r >> 16) & 255] + pop[(r >> 24) & 255]
            r >>= 32
            while r:
                dark += pop[r & 255]
                r >>= 8
    return (s << 16) | dark


def _bch(value, poly, deg):
    # value followed by the remainder of value * x^deg divided by poly (format/version info)
    r = value << deg
    for b in range(deg + 5, deg - 1, -1):
        if (r >> b) & 1:
            r ^= poly << (b - deg)
    return (value << deg) | r


def encode(data, ecc="M", version=None, mask=None, min_version=1):
    """Encode str (as UTF-8) or bytes into the smallest QR symbol that holds it.

    version and mask are forced when given; ValueError when the data does not fit."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if ecc not in ("L", "M", "Q", "H"):
        raise ValueError("ecc must be L, M, Q or H")
    if mask is not None and not 0 <= mask <= 7:
        raise ValueError("mask must be 0-7")
    lo, hi = (version, version) if version is not None else (min_version, 40)
    if not 1 <= lo <= hi <= 40:
        raise ValueError("version must be 1-40")
    modes = bytearray(len(data))
    v = 0
    for cls in range(3):
        if v or hi < CLASS_LOW[cls] or lo > CLASS_TOP[cls]:
            continue
        bits = plan(data, cls, modes)
        for t in range(max(lo, CLASS_LOW[cls]), min(hi, CLASS_TOP[cls]) + 1):
            if bits <= data_codewords(t, ecc) * 8:
                v = t
                break
    if not v:
        raise ValueError("data too long for a QR code of version %d-%s" % (hi, ecc))
    cls = 0 if v < 10 else (1 if v < 27 else 2)
    cap = data_codewords(v, ecc)
    buf = bytearray(cap)
    pos = _write(data, modes, cls, buf)
    pos = (min(pos + 4, cap * 8) + 7) >> 3  # terminator, then byte boundary
    for i in range(pos, cap):
        buf[i] = 0xEC if (i - pos) & 1 == 0 else 0x11
    cw = codewords(buf, v, ecc)
    n = v * 4 + 17
    res, rows = _function_patterns(v, n)
    cols = list(rows)
    _place(cw, res, rows, cols, n)
    w = (1 << n) - 1
    for i in range(n):
        res[i] = w & ~res[i]  # now: data-module masks
    r6 = ((1 << (6 * ((n + 5) // 6))) - 1) // 63  # 1 every 6 bits: repeats a 6-column pattern
    r12 = ((1 << (12 * ((n + 11) // 12))) - 1) // 4095
    pats = [0] * 18  # one mask's row patterns (12) and column patterns (6)
    if mask is None:  # ISO/IEC 18004 7.8.3: lowest N1+N2+N3+N4 wins, first on ties; scored
        # before format and version information are drawn (those modules count as light)
        best = 1 << 30
        total = n * n
        for k in range(8):
            for i in range(12):
                pats[i] = ROW_MASKS[k * 12 + i] * r6 & w
                if i < 6:
                    pats[12 + i] = (COL_MASKS[k * 12 + 2 * i] << 8 | COL_MASKS[k * 12 + 2 * i + 1]) * r12 & w
            s = _penalty(rows, res, pats, 0, 12, n, True)
            d = s & 0xFFFF
            s = (s >> 16) + abs(20 * d - 10 * total) // total * 10
            if s < best:
                s += _penalty(cols, res, pats, 12, 6, n, False) >> 16
                if s < best:
                    best = s
                    mask = k
    off = mask * 12
    for i in range(n):
        rows[i] ^= ROW_MASKS[off + i % 12] * r6 & w & res[i]
    f = _bch(ECC_FORMAT["LMQH".index(ecc)] << 3 | mask, 0x537, 10) ^ 0x5412
    for i in range(15):
        b = (f >> i) & 1
        if i < 8:
            y = i if i < 6 else i + 1
            rows[y] |= b << 8
            rows[8] |= b << (n - 1 - i)
        else:
            x = 14 - i if i > 8 else 7
            rows[8] |= b << x
            rows[n - 15 + i] |= b << 8
    rows[n - 8] |= 1 << 8
    if v >= 7:
        f = _bch(v, 0x1F25, 12)
        for i in range(18):
            b = (f >> i) & 1
            rows[i // 3] |= b << (n - 11 + i % 3)
            rows[n - 11 + i % 3] |= b << (i // 3)
    stride = (n + 7) >> 3
    out = bytearray(stride * n)
    rev = REV
    j = 0
    for r in rows:
        for k in range(stride):
            out[j] = rev[r & 255]
            r >>= 8
            j += 1
    return QRCode(v, ecc, mask, out)
