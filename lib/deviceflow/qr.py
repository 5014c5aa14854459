# QR Code model 2 encoder (ISO/IEC 18004), versions 1-40, ECC L/M/Q/H.
#
#   encode(data, ecc="M", version=None, mask=None, min_version=1) -> QRCode
#
# Built for a small MicroPython heap: every integer it computes stays below 2^30, a small
# int even on a 32-bit port, so masking and scoring make no heap big-ints: the symbol
# lives in bytearrays of bit rows and columns, masked and scored as 30-bit windows of 24
# modules plus context (a few shifts per window for the N1-N4 rules; tested by
# tests/test_qr_small_ints.py); the 8 mask trials reuse the same window lists;
# Reed-Solomon runs in one bytearray (qr_tables). Segments are chosen by an exact
# shortest-bit-stream search over the numeric, alphanumeric and byte modes. The result
# is bit-packed rows.
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


# The symbol is kept in bytearrays of bit rows, LSB first (module x of row y: byte
# y * S + (x >> 3), bit x & 7), and scored as 30-bit windows: window j of a line holds
# modules 24j .. 24j+29 (bit i = module 24j+i, modules off the symbol light). Bits 0..23
# are the window's own modules; the 6 after them are the context N1, N2 and the N3 core
# need; an N3 light side that falls outside the window is read from the neighbour window
# (rare). So no integer ever reaches 2^30: on a 32-bit MicroPython every value stays a
# small int and scoring allocates nothing.
_FULL = 0x3FFFFFFF  # the 30 bits of a window
_OWN = 0xFFFFFF  # its own modules


def _bits(buf, off, x, p):
    # OR the pattern p (at most 8 modules, bit t = module x + t) into the row at off
    p <<= x & 7
    i = off + (x >> 3)
    buf[i] |= p & 255
    buf[i + 1] |= p >> 8


def _function_patterns(v, n, s):
    # reserved modules and dark function modules; both sets are symmetric, so the same
    # rows also serve as columns
    res = bytearray(s * n)
    dark = bytearray(s * n)
    for y in range(n):
        off = y * s
        if y < 9 or y >= n - 8:  # finders, separators, format areas; column 6
            res[off] = 0xFF
            res[off + 1] = 1
            if y < 9:
                _bits(res, off, n - 8, 0xFF)
        else:
            res[off] = 0x40
    for i in range(6 * s, 7 * s):  # row 6
        res[i] = 0xFF
    for i in range(7):
        p = 0x7F if i in (0, 6) else (0x41 if i in (1, 5) else 0x5D)
        dark[i * s] = p
        _bits(dark, i * s, n - 7, p)
        dark[(n - 7 + i) * s] = p
    for x in range(8, n - 8, 2):  # timing patterns
        dark[6 * s + (x >> 3)] |= 1 << (x & 7)
        dark[x * s] |= 0x40
    pos = align_positions(v)
    last = len(pos) - 1
    for a, cy in enumerate(pos):
        for b, cx in enumerate(pos):
            if (a == 0 and b in (0, last)) or (a == last and b == 0):
                continue
            for i in range(5):
                p = 0x1F if i in (0, 4) else (0x15 if i == 2 else 0x11)
                off = (cy - 2 + i) * s
                _bits(dark, off, cx - 2, p)
                _bits(res, off, cx - 2, 0x1F)
    if v >= 7:
        for i in range(6):
            _bits(res, i * s, n - 11, 7)
        for i in range(n - 11, n - 8):
            _bits(res, i * s, 0, 0x3F)
    return res, dark


def _place(cw, res, rows, cols, n, s):
    # zigzag codeword placement (ISO/IEC 18004 7.7.3) into rows and columns at once;
    # cw carries one spare zero byte for the remainder bits
    bi = 0
    x = n - 1
    up = True
    while x > 0:
        if x == 6:
            x = 5
        x1 = x - 1
        i0 = x >> 3
        b0 = 1 << (x & 7)
        i1 = x1 >> 3
        b1 = 1 << (x1 & 7)
        c0 = x * s
        c1 = c0 - s
        for t in range(n):
            y = n - 1 - t if up else t
            off = y * s
            if not res[off + i0] & b0:
                if (cw[bi >> 3] << (bi & 7)) & 0x80:
                    rows[off + i0] |= b0
                    cols[c0 + (y >> 3)] |= 1 << (y & 7)
                bi += 1
            if not res[off + i1] & b1:
                if (cw[bi >> 3] << (bi & 7)) & 0x80:
                    rows[off + i1] |= b1
                    cols[c1 + (y >> 3)] |= 1 << (y & 7)
                bi += 1
        up = not up
        x -= 2


def _windows(buf, n, s, nw, out, inr):
    # out[j * n + y] = window j of line y; complemented and cut to the symbol when inr
    k = 0
    for j in range(nw):
        m = inr[j] if inr else 0
        for i in range(3 * j, n * s, s):
            w = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | ((buf[i + 3] & 63) << 24)
            out[k] = (_FULL ^ w) & m if inr else w
            k += 1


def _patterns(k, pats):
    # mask k as windows: pats[y % 12] for rows, pats[12 + x % 6] for columns
    rm = ROW_MASKS
    cm = COL_MASKS
    k *= 12
    for i in range(12):
        pats[i] = rm[k + i] * 0x1041041  # 5 copies of 6 columns: 30 bits
    for i in range(6):
        p = cm[k + 2 * i] << 8 | cm[k + 2 * i + 1]
        pats[12 + i] = p | (p << 12) | ((p & 0x3F) << 24)


def _penalty(lines, dm, pats, px, n, nw, pm, full, acc):
    # N1 + N3 (+ N2, and the dark count in acc[0], when full) of one orientation, one mask
    fw = _FULL
    own = _OWN
    pop = POP
    s = dark = b = 0
    last = n * (nw - 1)
    for j in range(nw):
        m = pm[j]
        pe = prev = 0
        for k in range(j * n, j * n + n):
            p = pats[px[k]]
            r = lines[k] ^ (p & dm[k])
            e = (fw ^ r ^ (r >> 1)) & m  # bit x: modules x and x+1 on the symbol and alike
            a = e & (e >> 1)
            a &= a >> 2  # bit x: modules x..x+4 all the same colour
            if a:
                g = a & (fw ^ (a >> 1)) & own  # last of each run
                a &= own
                while a:
                    a &= a - 1
                    s += 1
                while g:
                    g &= g - 1
                    s += 2
            c = r & (r >> 2) & (r >> 3) & (r >> 4) & (r >> 6)
            if c:
                q = fw ^ r
                c &= (q >> 1) & (q >> 5) & own  # dark:light:dark x3:light:dark
                if c:
                    q &= q >> 1
                    q &= q >> 2  # bit x: modules x..x+3 light
                    o = c & (((q & 0x3FFFFF) << 4) | (q >> 7))  # light before or after
                    c ^= o  # left: cores whose light side lies partly in a neighbour window
                    while o:
                        o &= o - 1
                        s += 40
                    if c & 0xF:
                        q = (r & 0xFF) << 4  # bit x: module x-4 (enough for cores at 0..3)
                        if k >= n:
                            q |= (lines[k - n] ^ (p & dm[k - n])) >> 20
                        q ^= fw
                        q &= q >> 1
                        q &= q >> 2
                        o = c & q & 0xF
                        while o:
                            o &= o - 1
                            s += 40
                    if c & 0xF00000:
                        q = r >> 10  # bit x: module x+10
                        if k < last:
                            q |= ((lines[k + n] ^ (p & dm[k + n])) & 0xFFFF) << 14
                        q ^= fw
                        q &= q >> 1
                        q &= q >> 2
                        o = (c >> 20) & (q >> 17)
                        while o:
                            o &= o - 1
                            s += 40
            if full:
                u = e & pe & (fw ^ r ^ prev) & own  # 2x2 blocks of one colour
                if u:
                    b += pop[u & 255] + pop[(u >> 8) & 255] + pop[u >> 16]
                pe = e
                prev = r
                dark += pop[r & 255] + pop[(r >> 8) & 255] + pop[(r >> 16) & 255]
    acc[0] = dark
    return s + 3 * b


def _bch(value, poly, deg):
    # value followed by the remainder of value * x^deg divided by poly (format/version info)
    r = value << deg
    for b in range(deg + 5, deg - 1, -1):
        if (r >> b) & 1:
            r ^= poly << (b - deg)
    return (value << deg) | r


def encode(data, ecc="M", version=None, mask=None, min_version=1, max_version=40):
    """Encode str (as UTF-8) or bytes into the smallest QR symbol that holds it.

    version and mask are forced when given; ValueError when the data does not fit
    (max_version: a screen's largest symbol, so nothing bigger is ever built)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if ecc not in ("L", "M", "Q", "H"):
        raise ValueError("ecc must be L, M, Q or H")
    if mask is not None and not 0 <= mask <= 7:
        raise ValueError("mask must be 0-7")
    lo, hi = (version, version) if version is not None else (min_version, max_version)
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
    nw = (n + 23) // 24  # windows per line
    s = 3 * nw + 1  # bytes per internal row (one spare for the last window)
    res, rows = _function_patterns(v, n, s)
    cols = bytearray(rows)
    _place(cw, res, rows, cols, n, s)
    inr = [0] * nw  # window bits on the symbol
    pm = [0] * nw  # window bits x with modules x and x+1 on the symbol
    for j in range(nw):
        hi = n - 24 * j
        m = _FULL if hi >= 30 else (1 << hi) - 1
        inr[j] = m
        pm[j] = m & (m >> 1)
    dm = [0] * (n * nw)
    _windows(res, n, s, nw, dm, inr)  # data modules
    wr = [0] * (n * nw)
    _windows(rows, n, s, nw, wr, None)
    pats = [0] * 18  # one mask's row (12) and column (6) patterns
    if mask is None:  # ISO/IEC 18004 7.8.3: lowest N1+N2+N3+N4 wins, first on ties; scored
        # before format and version information are drawn (those modules count as light)
        wc = [0] * (n * nw)
        _windows(cols, n, s, nw, wc, None)
        pr = bytearray(n * nw)  # pattern of each window: row % 12, 12 + column % 6
        pc = bytearray(n * nw)
        for k in range(n * nw):
            i = k % n
            pr[k] = i % 12
            pc[k] = 12 + i % 6
        acc = [0]
        best = -1
        total = n * n
        for k in range(8):
            _patterns(k, pats)
            p = _penalty(wr, dm, pats, pr, n, nw, pm, True, acc)
            p += abs(20 * acc[0] - 10 * total) // total * 10
            if p < best or best < 0:
                p += _penalty(wc, dm, pats, pc, n, nw, pm, False, acc)
                if p < best or best < 0:
                    best = p
                    mask = k
        wc = None
    _patterns(mask, pats)
    stride = (n + 7) >> 3
    out = bytearray(stride * n)
    rev = REV
    k = 0
    for j in range(nw):
        b = 3 * j
        nb = min(3, stride - b)
        for y in range(n):
            w = wr[k] ^ (pats[y % 12] & dm[k])
            k += 1
            i = y * stride + b
            out[i] = rev[w & 255]
            if nb > 1:
                out[i + 1] = rev[(w >> 8) & 255]
                if nb > 2:
                    out[i + 2] = rev[(w >> 16) & 255]
    f = _bch(ECC_FORMAT["LMQH".index(ecc)] << 3 | mask, 0x537, 10) ^ 0x5412
    for i in range(15):
        if (f >> i) & 1:
            if i < 8:
                y = i if i < 6 else i + 1
                out[y * stride + 1] |= 0x80  # module (8, y)
                x = n - 1 - i
                out[8 * stride + (x >> 3)] |= 0x80 >> (x & 7)
            else:
                x = 14 - i if i > 8 else 7
                out[8 * stride + (x >> 3)] |= 0x80 >> (x & 7)
                out[(n - 15 + i) * stride + 1] |= 0x80
    out[(n - 8) * stride + 1] |= 0x80
    if v >= 7:
        f = _bch(v, 0x1F25, 12)
        for i in range(18):
            if (f >> i) & 1:
                x = n - 11 + i % 3
                y = i // 3
                out[y * stride + (x >> 3)] |= 0x80 >> (x & 7)
                out[x * stride + (y >> 3)] |= 0x80 >> (y & 7)
    return QRCode(v, ecc, mask, out)
