# A compact 5x7 bitmap font for big, scaled text (user codes, titles), drawn
# with fill_rect only, so it works on any surface: framebuf, TFT drivers whose
# fill_rect is one bus transaction, or a recording surface in tests.
#
# Each glyph is 7 bytes, one per row from the top; bit 4 is the leftmost of the
# 5 columns. Glyphs advance 6 columns (one column of spacing). Drawing merges
# each row into horizontal runs and stacks identical consecutive rows into one
# rectangle, so a scaled glyph costs a handful of fill_rect calls, not one per
# pixel. The art next to each glyph is the glyph ('#' = ink).

GLYPH_W = 5
GLYPH_H = 7
ADVANCE = 6

_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.,:!?/'+=()"
_DATA = (
    b"\x0e\x11\x11\x1f\x11\x11\x11"  # A .###. #...# #...# ##### #...# #...# #...#
    b"\x1e\x11\x11\x1e\x11\x11\x1e"  # B ####. #...# #...# ####. #...# #...# ####.
    b"\x0e\x11\x10\x10\x10\x11\x0e"  # C .###. #...# #.... #.... #.... #...# .###.
    b"\x1c\x12\x11\x11\x11\x12\x1c"  # D ###.. #..#. #...# #...# #...# #..#. ###..
    b"\x1f\x10\x10\x1e\x10\x10\x1f"  # E ##### #.... #.... ####. #.... #.... #####
    b"\x1f\x10\x10\x1e\x10\x10\x10"  # F ##### #.... #.... ####. #.... #.... #....
    b"\x0e\x11\x10\x17\x11\x11\x0f"  # G .###. #...# #.... #.### #...# #...# .####
    b"\x11\x11\x11\x1f\x11\x11\x11"  # H #...# #...# #...# ##### #...# #...# #...#
    b"\x0e\x04\x04\x04\x04\x04\x0e"  # I .###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
    b"\x07\x02\x02\x02\x02\x12\x0c"  # J ..### ...#. ...#. ...#. ...#. #..#. .##..
    b"\x11\x12\x14\x18\x14\x12\x11"  # K #...# #..#. #.#.. ##... #.#.. #..#. #...#
    b"\x10\x10\x10\x10\x10\x10\x1f"  # L #.... #.... #.... #.... #.... #.... #####
    b"\x11\x1b\x15\x15\x11\x11\x11"  # M #...# ##.## #.#.# #.#.# #...# #...# #...#
    b"\x11\x11\x19\x15\x13\x11\x11"  # N #...# #...# ##..# #.#.# #..## #...# #...#
    b"\x0e\x11\x11\x11\x11\x11\x0e"  # O .###. #...# #...# #...# #...# #...# .###.
    b"\x1e\x11\x11\x1e\x10\x10\x10"  # P ####. #...# #...# ####. #.... #.... #....
    b"\x0e\x11\x11\x11\x15\x12\x0d"  # Q .###. #...# #...# #...# #.#.# #..#. .##.#
    b"\x1e\x11\x11\x1e\x14\x12\x11"  # R ####. #...# #...# ####. #.#.. #..#. #...#
    b"\x0f\x10\x10\x0e\x01\x01\x1e"  # S .#### #.... #.... .###. ....# ....# ####.
    b"\x1f\x04\x04\x04\x04\x04\x04"  # T ##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..
    b"\x11\x11\x11\x11\x11\x11\x0e"  # U #...# #...# #...# #...# #...# #...# .###.
    b"\x11\x11\x11\x11\x11\x0a\x04"  # V #...# #...# #...# #...# #...# .#.#. ..#..
    b"\x11\x11\x11\x15\x15\x15\x0a"  # W #...# #...# #...# #.#.# #.#.# #.#.# .#.#.
    b"\x11\x11\x0a\x04\x0a\x11\x11"  # X #...# #...# .#.#. ..#.. .#.#. #...# #...#
    b"\x11\x11\x0a\x04\x04\x04\x04"  # Y #...# #...# .#.#. ..#.. ..#.. ..#.. ..#..
    b"\x1f\x01\x02\x04\x08\x10\x1f"  # Z ##### ....# ...#. ..#.. .#... #.... #####
    b"\x00\x00\x0e\x01\x0f\x11\x0f"  # a ..... ..... .###. ....# .#### #...# .####
    b"\x10\x10\x16\x19\x11\x11\x1e"  # b #.... #.... #.##. ##..# #...# #...# ####.
    b"\x00\x00\x0e\x10\x10\x11\x0e"  # c ..... ..... .###. #.... #.... #...# .###.
    b"\x01\x01\x0d\x13\x11\x11\x0f"  # d ....# ....# .##.# #..## #...# #...# .####
    b"\x00\x00\x0e\x11\x1f\x10\x0e"  # e ..... ..... .###. #...# ##### #.... .###.
    b"\x06\x09\x08\x1c\x08\x08\x08"  # f ..##. .#..# .#... ###.. .#... .#... .#...
    b"\x00\x0f\x11\x11\x0f\x01\x0e"  # g ..... .#### #...# #...# .#### ....# .###.
    b"\x10\x10\x16\x19\x11\x11\x11"  # h #.... #.... #.##. ##..# #...# #...# #...#
    b"\x04\x00\x0c\x04\x04\x04\x0e"  # i ..#.. ..... .##.. ..#.. ..#.. ..#.. .###.
    b"\x02\x00\x06\x02\x02\x12\x0c"  # j ...#. ..... ..##. ...#. ...#. #..#. .##..
    b"\x10\x10\x12\x14\x18\x14\x12"  # k #.... #.... #..#. #.#.. ##... #.#.. #..#.
    b"\x0c\x04\x04\x04\x04\x04\x0e"  # l .##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
    b"\x00\x00\x1a\x15\x15\x11\x11"  # m ..... ..... ##.#. #.#.# #.#.# #...# #...#
    b"\x00\x00\x16\x19\x11\x11\x11"  # n ..... ..... #.##. ##..# #...# #...# #...#
    b"\x00\x00\x0e\x11\x11\x11\x0e"  # o ..... ..... .###. #...# #...# #...# .###.
    b"\x00\x00\x1e\x11\x1e\x10\x10"  # p ..... ..... ####. #...# ####. #.... #....
    b"\x00\x00\x0d\x13\x0f\x01\x01"  # q ..... ..... .##.# #..## .#### ....# ....#
    b"\x00\x00\x16\x19\x10\x10\x10"  # r ..... ..... #.##. ##..# #.... #.... #....
    b"\x00\x00\x0e\x10\x0e\x01\x1e"  # s ..... ..... .###. #.... .###. ....# ####.
    b"\x08\x08\x1c\x08\x08\x09\x06"  # t .#... .#... ###.. .#... .#... .#..# ..##.
    b"\x00\x00\x11\x11\x11\x13\x0d"  # u ..... ..... #...# #...# #...# #..## .##.#
    b"\x00\x00\x11\x11\x11\x0a\x04"  # v ..... ..... #...# #...# #...# .#.#. ..#..
    b"\x00\x00\x11\x11\x15\x15\x0a"  # w ..... ..... #...# #...# #.#.# #.#.# .#.#.
    b"\x00\x00\x11\x0a\x04\x0a\x11"  # x ..... ..... #...# .#.#. ..#.. .#.#. #...#
    b"\x00\x00\x11\x11\x0f\x01\x0e"  # y ..... ..... #...# #...# .#### ....# .###.
    b"\x00\x00\x1f\x02\x04\x08\x1f"  # z ..... ..... ##### ...#. ..#.. .#... #####
    b"\x0e\x11\x13\x15\x19\x11\x0e"  # 0 .###. #...# #..## #.#.# ##..# #...# .###.
    b"\x04\x0c\x04\x04\x04\x04\x0e"  # 1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.
    b"\x0e\x11\x01\x02\x04\x08\x1f"  # 2 .###. #...# ....# ...#. ..#.. .#... #####
    b"\x1f\x02\x04\x02\x01\x11\x0e"  # 3 ##### ...#. ..#.. ...#. ....# #...# .###.
    b"\x02\x06\x0a\x12\x1f\x02\x02"  # 4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.
    b"\x1f\x10\x1e\x01\x01\x11\x0e"  # 5 ##### #.... ####. ....# ....# #...# .###.
    b"\x06\x08\x10\x1e\x11\x11\x0e"  # 6 ..##. .#... #.... ####. #...# #...# .###.
    b"\x1f\x01\x02\x04\x08\x08\x08"  # 7 ##### ....# ...#. ..#.. .#... .#... .#...
    b"\x0e\x11\x11\x0e\x11\x11\x0e"  # 8 .###. #...# #...# .###. #...# #...# .###.
    b"\x0e\x11\x11\x0f\x01\x02\x0c"  # 9 .###. #...# #...# .#### ....# ...#. .##..
    b"\x00\x00\x00\x1f\x00\x00\x00"  # - ..... ..... ..... ##### ..... ..... .....
    b"\x00\x00\x00\x00\x00\x00\x1f"  # _ ..... ..... ..... ..... ..... ..... #####
    b"\x00\x00\x00\x00\x00\x0c\x0c"  # . ..... ..... ..... ..... ..... .##.. .##..
    b"\x00\x00\x00\x00\x0c\x04\x08"  # , ..... ..... ..... ..... .##.. ..#.. .#...
    b"\x00\x0c\x0c\x00\x0c\x0c\x00"  # : ..... .##.. .##.. ..... .##.. .##.. .....
    b"\x04\x04\x04\x04\x04\x00\x04"  # ! ..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..
    b"\x0e\x11\x01\x02\x04\x00\x04"  # ? .###. #...# ....# ...#. ..#.. ..... ..#..
    b"\x01\x01\x02\x04\x08\x10\x10"  # / ....# ....# ...#. ..#.. .#... #.... #....
    b"\x04\x04\x08\x00\x00\x00\x00"  # ' ..#.. ..#.. .#... ..... ..... ..... .....
    b"\x00\x04\x04\x1f\x04\x04\x00"  # + ..... ..#.. ..#.. ##### ..#.. ..#.. .....
    b"\x00\x00\x1f\x00\x1f\x00\x00"  # = ..... ..... ##### ..... ##### ..... .....
    b"\x02\x04\x08\x08\x08\x04\x02"  # ( ...#. ..#.. .#... .#... .#... ..#.. ...#.
    b"\x08\x04\x02\x02\x02\x04\x08"  # ) .#... ..#.. ...#. ...#. ...#. ..#.. .#...
)


def covers(s):
    """True when every character of s has a glyph (space always does)."""
    for ch in s:
        if ch != " " and _CHARS.find(ch) < 0:
            return False
    return True


def text_width(s, scale=1):
    """Width in pixels of s drawn at scale (no trailing spacing column)."""
    n = len(s)
    return n * ADVANCE * scale - scale if n else 0


def text_height(scale=1):
    return GLYPH_H * scale


def max_scale(s, width, height=None):
    """Largest whole scale at which s fits width (and height), 0 when none."""
    unit = text_width(s, 1)
    if unit <= 0:
        return 0
    k = width // unit
    if height is not None:
        k = min(k, height // GLYPH_H)
    return k


def draw(surface, s, x, y, scale, c):
    """Draw s with its top-left at (x, y), each font pixel a scale x scale block."""
    fill = surface.fill_rect
    for ch in s:
        i = _CHARS.find(ch)
        if ch == " ":
            i = -2
        elif i < 0:
            i = _CHARS.find("?")
        if i >= 0:
            _glyph(fill, i * GLYPH_H, x, y, scale, c)
        x += ADVANCE * scale


def _glyph(fill, base, x, y, scale, c):
    data = _DATA
    row = 0
    while row < GLYPH_H:
        bits = data[base + row]
        rows = 1
        while row + rows < GLYPH_H and data[base + row + rows] == bits:
            rows += 1
        col = 0
        while bits:
            if bits & 0x10:
                start = col
                while bits & 0x10:
                    bits = (bits << 1) & 0x1F
                    col += 1
                fill(x + start * scale, y + row * scale, (col - start) * scale, rows * scale, c)
            else:
                bits = (bits << 1) & 0x1F
                col += 1
        row += rows
