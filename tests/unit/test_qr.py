# Structure of the symbols deviceflow.qr draws, checked module by module against
# ISO/IEC 18004 on both runtimes. Decoding by a real reader and comparison with an
# independent encoder live in tests/test_qr_decode.py (CPython only).
from check import raises

from deviceflow import qr

URL = "https://example-tenant.us.auth0.com/activate?user_code=WDJB-MJHT"
# ISO/IEC 18004 table C.1: the 15-bit format information, bit 14 first
FORMAT_BITS = {
    ("L", 0): "111011111000100",
    ("L", 7): "110100101110110",
    ("M", 0): "101010000010010",
    ("M", 5): "100000011001110",
    ("Q", 2): "011111100110001",
    ("H", 4): "000011101100010",
    ("H", 7): "000100000111011",
}
# ISO/IEC 18004 table D.1: the 18-bit version information, bit 17 first
VERSION_BITS = {7: "000111110010010100", 10: "001010010011010011", 21: "010101011010000011"}


def _bits(text):
    return int(text, 2)


def _format_copies(q):
    n = q.size
    first = [(8, 0), (8, 1), (8, 2), (8, 3), (8, 4), (8, 5), (8, 7), (8, 8), (7, 8)]
    first += [(5, 8), (4, 8), (3, 8), (2, 8), (1, 8), (0, 8)]
    second = [(n - 1 - i, 8) for i in range(8)] + [(8, n - 7 + i) for i in range(7)]
    copies = []
    for cells in (first, second):
        v = 0
        for i, (x, y) in enumerate(cells):
            v |= q.get(x, y) << i
        copies.append(v)
    return copies


def test_finder_patterns_and_separators_in_three_corners():
    q = qr.encode(URL)
    n = q.size
    for ox, oy in ((0, 0), (n - 7, 0), (0, n - 7)):
        for dy in range(7):
            for dx in range(7):
                ring = max(abs(dx - 3), abs(dy - 3))
                assert q.get(ox + dx, oy + dy) == (ring != 2), (ox, oy, dx, dy)
        for i in range(-1, 8):  # the light separator around each finder
            for x, y in ((ox + i, oy - 1), (ox + i, oy + 7), (ox - 1, oy + i), (ox + 7, oy + i)):
                if 0 <= x < n and 0 <= y < n:
                    assert not q.get(x, y), (x, y)


def test_timing_patterns_alternate_and_dark_module_is_set():
    for v in (1, 5, 14):
        q = qr.encode("x", "L", version=v)
        n = q.size
        for i in range(8, n - 8):
            assert q.get(i, 6) == (i % 2 == 0)
            assert q.get(6, i) == (i % 2 == 0)
        assert q.get(8, n - 8)


def test_alignment_pattern_of_version_5_sits_at_30_30():
    q = qr.encode(URL, "M")
    assert q.version == 5 and q.size == 37
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            assert q.get(30 + dx, 30 + dy) == (max(abs(dx), abs(dy)) != 1)


def test_format_information_matches_iso_table_in_both_copies():
    for (ecc, mask), text in FORMAT_BITS.items():
        q = qr.encode("HELLO 42", ecc, mask=mask)
        assert q.mask == mask and q.ecc == ecc
        assert _format_copies(q) == [_bits(text), _bits(text)], (ecc, mask)


def test_version_information_for_version_7_and_up():
    for v, text in VERSION_BITS.items():
        q = qr.encode("1", "H", version=v)
        n = q.size
        want = _bits(text)
        top_right = bottom_left = 0
        for i in range(18):
            top_right |= q.get(n - 11 + i % 3, i // 3) << i
            bottom_left |= q.get(i // 3, n - 11 + i % 3) << i
        assert top_right == want and bottom_left == want, v


def test_version_information_area_is_data_below_7():
    def area(v, mask):
        q = qr.encode("1", "H", version=v, mask=mask)
        n = q.size
        return [q.get(n - 11 + i % 3, i // 3) for i in range(18)]

    assert len(set(tuple(area(7, m)) for m in range(8))) == 1  # fixed version info
    assert len(set(tuple(area(6, m)) for m in range(8))) > 1  # masked data modules


def test_largest_byte_string_for_1m_fits_and_one_more_byte_needs_version_2():
    assert qr.data_codewords(1, "M") == 16
    assert qr.encode(b"a" * 14, "M").version == 1
    assert qr.encode(b"a" * 15, "M").version == 2


def test_capacity_boundaries_of_numeric_and_alphanumeric_modes():
    assert qr.encode("1" * 41, "L").version == 1
    assert qr.encode("1" * 42, "L").version == 2
    assert qr.encode("A" * 25, "L").version == 1
    assert qr.encode("A" * 26, "L").version == 2
    assert qr.encode("1" * 7089, "L").version == 40


def test_too_long_raises_value_error():
    e = raises(ValueError, qr.encode, b"a" * 2954, "L")
    assert "too long" in str(e)
    raises(ValueError, qr.encode, b"a" * 2332, "M")
    raises(ValueError, qr.encode, b"a" * 15, "M", version=1)


def test_largest_version_40_symbol_builds():
    q = qr.encode(b"a" * 2953, "L")
    assert q.version == 40 and q.size == 177 and len(q.modules) == 23 * 177


def test_digits_use_numeric_mode():
    modes = bytearray(20)
    qr.plan(b"01234567890123456789", 0, modes)
    assert modes == bytearray(20)  # all NUMERIC
    assert qr.encode("0" * 34, "M").version == 1  # byte mode would need version 3


def test_uppercase_run_of_a_url_goes_alphanumeric_only_when_it_pays():
    url = b"https://x.example/activate?user_code=ABCDEFGH-JKLMNPQR-STUVWXYZ"
    modes = bytearray(len(url))
    bits = qr.plan(url, 0, modes)
    start = url.index(b"ABCD")
    assert all(m == qr.ALPHANUMERIC for m in modes[start:])
    assert all(m == qr.BYTE for m in modes[:start - 1])
    assert bits < 12 + 8 * len(url)
    short = b"https://x/activate?user_code=ABCD"
    modes = bytearray(len(short))
    assert qr.plan(short, 0, modes) == 12 + 8 * len(short)  # a switch would cost more
    assert all(m == qr.BYTE for m in modes)


def test_get_matches_packed_modules_and_row_padding_is_light():
    q = qr.encode(URL, "Q")
    n = q.size
    stride = (n + 7) // 8
    assert len(q.modules) == stride * n
    for y in range(n):
        for x in range(stride * 8):
            bit = (q.modules[y * stride + x // 8] >> (7 - x % 8)) & 1
            if x < n:
                assert q.get(x, y) == bool(bit)
            else:
                assert bit == 0


def test_forced_version_mask_and_min_version_are_honoured():
    q = qr.encode("hi", "L", version=3, mask=6)
    assert (q.version, q.mask, q.size) == (3, 6, 29)
    assert qr.encode("hi", "L", min_version=4).version == 4


def test_str_is_encoded_as_utf8():
    assert qr.encode("\u00e9t\u00e9").modules == qr.encode(b"\xc3\xa9t\xc3\xa9").modules


def test_mask_selection_is_deterministic_and_changes_modules():
    a = qr.encode(URL, "M")
    b = qr.encode(URL, "M")
    assert a.modules == b.modules and 0 <= a.mask <= 7
    other = qr.encode(URL, "M", mask=(a.mask + 1) % 8)
    assert other.modules != a.modules


def test_bad_arguments_raise_value_error():
    raises(ValueError, qr.encode, "x", "X")
    raises(ValueError, qr.encode, "x", "M", mask=8)
    raises(ValueError, qr.encode, "x", "M", version=41)
    raises(ValueError, qr.encode, "x", "M", version=0)
    raises(ValueError, qr.encode, "x", "M", min_version=0)
