# ISO/IEC 18004 tables for the QR encoder (deviceflow.qr), the capacity arithmetic
# built on them, and the Reed-Solomon error correction code over GF(256).
# Tables are bytes literals: no parsing cost and little RAM on MicroPython.

ECC_NAMES = "LMQH"
ECC_FORMAT = (1, 0, 3, 2)  # format-information bits of L, M, Q, H
# ISO/IEC 18004 table 9, indexed [ecc * 40 + version - 1] with ecc in ECC_NAMES order.
# Error correction codewords per block:
EC_PER_BLOCK = (
    b"\x07\x0a\x0f\x14\x1a\x12\x14\x18\x1e\x12\x14\x18\x1a\x1e\x16\x18\x1c\x1e\x1c\x1c"
    b"\x1c\x1c\x1e\x1e\x1a\x1c\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e"
    b"\x0a\x10\x1a\x12\x18\x10\x12\x16\x16\x1a\x1e\x16\x16\x18\x18\x1c\x1c\x1a\x1a\x1a"
    b"\x1a\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c\x1c"
    b"\x0d\x16\x12\x1a\x12\x18\x12\x16\x14\x18\x1c\x1a\x18\x14\x1e\x18\x1c\x1c\x1a\x1e"
    b"\x1c\x1e\x1e\x1e\x1e\x1c\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e"
    b"\x11\x1c\x16\x10\x16\x1c\x1a\x1a\x18\x1c\x18\x1c\x16\x18\x18\x1e\x1c\x1c\x1a\x1c"
    b"\x1e\x18\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e\x1e")
# Number of error correction blocks:
BLOCKS = (
    b"\x01\x01\x01\x01\x01\x02\x02\x02\x02\x04\x04\x04\x04\x04\x06\x06\x06\x06\x07\x08"
    b"\x08\x09\x09\x0a\x0c\x0c\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x13\x14\x15\x16\x18\x19"
    b"\x01\x01\x01\x02\x02\x04\x04\x04\x05\x05\x05\x08\x09\x09\x0a\x0a\x0b\x0d\x0e\x10"
    b"\x11\x11\x12\x14\x15\x17\x19\x1a\x1c\x1d\x1f\x21\x23\x25\x26\x28\x2b\x2d\x2f\x31"
    b"\x01\x01\x02\x02\x04\x04\x06\x06\x08\x08\x08\x0a\x0c\x10\x0c\x11\x10\x12\x15\x14"
    b"\x17\x17\x19\x1b\x1d\x22\x22\x23\x26\x28\x2b\x2d\x30\x33\x35\x38\x3b\x3e\x41\x44"
    b"\x01\x01\x02\x04\x04\x04\x05\x06\x08\x08\x0b\x0b\x10\x10\x12\x10\x13\x15\x19\x19"
    b"\x19\x22\x1e\x20\x23\x25\x28\x2a\x2d\x30\x33\x36\x39\x3c\x3f\x42\x46\x4a\x4d\x51")
# Character-count bits [mode * 3 + class]; modes numeric, alphanumeric, byte;
# class 0: versions 1-9, 1: 10-26, 2: 27-40.
CC_BITS = (10, 12, 14, 9, 11, 13, 8, 16, 16)
CLASS_LOW = (1, 10, 27)
CLASS_TOP = (9, 26, 40)
# Data masks 0-7 (ISO/IEC 18004 table 10) repeat every 12 rows and every 6 columns.
# ROW_MASKS[k * 12 + row % 12]: bit j set when module (row, column j) is inverted.
ROW_MASKS = (
    b"\x15\x2a\x15\x2a\x15\x2a\x15\x2a\x15\x2a\x15\x2a\x3f\x00\x3f\x00\x3f\x00\x3f\x00\x3f\x00\x3f\x00"
    b"\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x24\x12\x09\x24\x12\x09\x24\x12\x09\x24\x12"
    b"\x07\x07\x38\x38\x07\x07\x38\x38\x07\x07\x38\x38\x3f\x01\x09\x15\x09\x01\x3f\x01\x09\x15\x09\x01"
    b"\x3f\x07\x1b\x15\x2d\x31\x3f\x07\x1b\x15\x2d\x31\x15\x38\x31\x2a\x07\x0e\x15\x38\x31\x2a\x07\x0e")
# COL_MASKS[k * 12 + 2 * (col % 6)], big-endian pairs: bit i set when (row i, col) is inverted.
COL_MASKS = (
    b"\x05\x55\x0a\xaa\x05\x55\x0a\xaa\x05\x55\x0a\xaa\x05\x55\x05\x55\x05\x55\x05\x55\x05\x55\x05\x55"
    b"\x0f\xff\x00\x00\x00\x00\x0f\xff\x00\x00\x00\x00\x02\x49\x09\x24\x04\x92\x02\x49\x09\x24\x04\x92"
    b"\x03\x33\x03\x33\x03\x33\x0c\xcc\x0c\xcc\x0c\xcc\x0f\xff\x00\x41\x02\x49\x05\x55\x02\x49\x00\x41"
    b"\x0f\xff\x01\xc7\x06\xdb\x05\x55\x0b\x6d\x0c\x71\x05\x55\x0e\x38\x0c\x71\x0a\xaa\x01\xc7\x03\x8e")


def _build():
    exp = bytearray(512)  # doubled, so exp[log a + log b] needs no modulo
    log = bytearray(256)
    x = 1
    for i in range(255):
        exp[i] = exp[i + 255] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    pop = bytearray(256)  # bits set in a byte
    rev = bytearray(256)  # a byte's bits reversed
    for i in range(1, 256):
        pop[i] = pop[i >> 1] + (i & 1)
        rev[i] = (rev[i >> 1] >> 1) | ((i & 1) << 7)
    alnum = bytearray(b"\xff" * 256)  # alphanumeric-mode value of a byte, 255 when none
    for i, c in enumerate(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"):
        alnum[c] = i
    return exp, log, pop, rev, alnum


EXP, LOG, POP, REV, ALNUM = _build()
del _build
_gen_cache = [0, b""]


def raw_modules(v):
    """Modules left for codewords in a version-v symbol (all but function patterns)."""
    n = v * 4 + 17
    m = n * n - 192 - 2 * (n - 16) - 31
    if v >= 2:
        a = v // 7 + 2
        m -= 25 * (a * a - 3) - 10 * (a - 2)
    if v >= 7:
        m -= 36
    return m


def data_codewords(version, ecc):
    """How many data codewords (bytes) a symbol of this version and ECC level carries."""
    e = ECC_NAMES.index(ecc) * 40 + version - 1
    return raw_modules(version) // 8 - EC_PER_BLOCK[e] * BLOCKS[e]


def align_positions(v):
    """Row/column centres of the alignment patterns (ISO/IEC 18004 annex E)."""
    if v < 2:
        return ()
    a = v // 7 + 2
    n = v * 4 + 17
    step = 26 if v == 32 else (n - 13 + 2 * a - 3) // (2 * a - 2) * 2
    return (6,) + tuple(n - 7 - step * (a - 2 - i) for i in range(a - 1))


def _generator(e):
    # logs of the coefficients of (x - a^0)...(x - a^(e-1)), leading 1 dropped
    if _gen_cache[0] == e:
        return _gen_cache[1]
    exp, log = EXP, LOG
    g = bytearray(e + 1)
    g[0] = 1
    for d in range(e):
        g[d + 1] = exp[log[g[d]] + d]
        for k in range(d, 0, -1):
            if g[k - 1]:
                g[k] ^= exp[log[g[k - 1]] + d]
    lg = bytes(log[c] for c in g[1:])
    _gen_cache[0] = e
    _gen_cache[1] = lg
    return lg


def codewords(data, version, ecc):
    """Data codewords -> the final interleaved codeword sequence with Reed-Solomon blocks,
    plus one zero byte at the end (the remainder bits of the matrix)."""
    ei = ECC_NAMES.index(ecc) * 40 + version - 1
    e = EC_PER_BLOCK[ei]
    nb = BLOCKS[ei]
    total = raw_modules(version) // 8
    dc = total - e * nb
    sdl = total // nb - e  # data codewords of a short block; long blocks hold one more
    first_long = nb - total % nb
    gen = _generator(e)
    exp, log = EXP, LOG
    out = bytearray(total + 1)
    work = bytearray(sdl + 1 + e)
    off = 0
    for blk in range(nb):
        dl = sdl + 1 if blk >= first_long else sdl
        for j in range(dl):
            c = data[off + j]
            work[j] = c
            if j < sdl:
                out[j * nb + blk] = c
            else:
                out[sdl * nb + blk - first_long] = c
        for j in range(dl, dl + e):
            work[j] = 0
        for i in range(dl):  # polynomial division: the remainder ends up in work[dl:]
            f = work[i]
            if f:
                lf = log[f]
                k = i + 1
                for g in gen:
                    work[k] ^= exp[lf + g]
                    k += 1
        k = dc + blk
        for j in range(dl, dl + e):
            out[k] = work[j]
            k += nb
        off += dl
    return out
