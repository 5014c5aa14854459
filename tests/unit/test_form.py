from check import raises

from deviceflow.errors import ReplyError
from deviceflow.form import urldecode, urlencode


def test_unreserved_characters_are_kept_as_is():
    assert urlencode({"a": "AZaz09-._~"}) == b"a=AZaz09-._~"


def test_reserved_characters_are_percent_encoded_upper_hex():
    assert urlencode([("scope", "openid offline_access"), ("aud", "https://api.example.com/x?y=1&z")]) == (
        b"scope=openid+offline_access&aud=https%3A%2F%2Fapi.example.com%2Fx%3Fy%3D1%26z"
    )


def test_non_ascii_is_encoded_as_utf8_bytes():
    assert urlencode({"name": "caf\u00e9 \u20ac"}) == b"name=caf%C3%A9+%E2%82%AC"


def test_pairs_keep_order_numbers_and_bytes_work_none_is_left_out():
    body = urlencode([("b", 1), ("a", b"x y"), ("skip", None), ("c", "")])
    assert body == b"b=1&a=x+y&c="


def test_urldecode_reads_plus_and_percent_escapes_as_utf8():
    d = urldecode(b"error=authorization_pending&error_description=caf%C3%A9+ok%2B&empty=&flag")
    assert d == {"error": "authorization_pending", "error_description": "caf\u00e9 ok+", "empty": "", "flag": ""}


def test_urldecode_accepts_str_and_ignores_empty_parts():
    assert urldecode("&a=1&&b=2&") == {"a": "1", "b": "2"}


def test_round_trip_of_every_byte_value():
    s = "".join(chr(i) for i in range(1, 256)) + "\u4e2d\U0001f600"
    assert urldecode(urlencode({"k": s})) == {"k": s}


def test_broken_escape_raises_reply_error_only():
    for bad in (b"a=%", b"a=%4", b"a=%zz", b"a=%e9", b"%ff=1"):
        e = raises(ReplyError, urldecode, bad)
        assert e.reason == "bad_reply"


def test_bad_input_types_raise_reply_error():
    e = raises(ReplyError, urldecode, 12.5)
    assert e.reason == "bad_reply"
