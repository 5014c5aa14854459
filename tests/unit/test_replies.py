from check import raises

from deviceflow.errors import ReplyError
from deviceflow.replies import as_int, oauth_error, parse_reply, retry_after_ms, token_set

JSON = {"content-type": "application/json; charset=utf-8"}
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
HTML = {"content-type": "text/html"}


def bad(headers, body):
    e = raises(ReplyError, parse_reply, headers, body)
    assert e.reason == "bad_reply"
    assert e.detail
    return e.detail


def test_json_object_is_parsed_and_unknown_members_kept():
    r = parse_reply(JSON, b'{"error":"authorization_pending","error_uri":"x","n":{"a":[1]}}')
    assert r["error"] == "authorization_pending"
    assert r["n"] == {"a": [1]}


def test_json_is_recognised_by_content_without_a_content_type():
    assert parse_reply({}, b'  \n{"a": 1}  ') == {"a": 1}
    assert parse_reply({"content-type": "text/plain"}, '{"a": "b"}') == {"a": "b"}


def test_github_form_reply_is_parsed():
    r = parse_reply(FORM, b"error=slow_down&error_description=Too+many+requests&interval=10")
    assert r == {"error": "slow_down", "error_description": "Too many requests", "interval": "10"}


def test_bare_form_body_with_plain_or_missing_type_is_parsed():
    assert parse_reply({"content-type": "text/plain"}, b"access_token=gho_x&token_type=bearer") == {
        "access_token": "gho_x",
        "token_type": "bearer",
    }
    assert parse_reply(None, b"a=1") == {"a": "1"}


def test_html_error_pages_are_bad_replies():
    assert "HTML" in bad(HTML, b"<html><body>502 Bad Gateway</body></html>")
    assert "HTML" in bad({}, b"  <!DOCTYPE html><p>login to wifi</p>")
    assert "HTML" in bad(JSON, b"<html>oops</html>")
    bad(HTML, b"Bad Gateway")


def test_truncated_and_malformed_json_are_bad_replies():
    assert "JSON" in bad(JSON, b'{"access_token": "abc", "token_ty')
    bad(JSON, b'{"a": 1} trailing')
    bad(JSON, b"nonsense")


def test_json_that_is_not_an_object_is_a_bad_reply():
    for body in (b"[1, 2]", b"null", b'"pending"', b"42"):
        assert "object" in bad(JSON, body)


def test_empty_body_is_a_bad_reply():
    for body in (b"", b"   \r\n", None):
        assert "empty" in bad(JSON, body)


def test_plain_text_error_is_a_bad_reply():
    bad({"content-type": "text/plain"}, b"Service Unavailable")
    bad({}, b"upstream connect error")


def test_details_never_repeat_the_body():
    secret = "s3cr3t-token-value"
    for body in ('{"access_token": "' + secret, "<p>" + secret + "</p>", "x " + secret):
        assert secret not in bad(JSON, body.encode())


def test_body_may_be_bytearray_or_memoryview():
    assert parse_reply(JSON, bytearray(b'{"a":1}')) == {"a": 1}
    assert parse_reply(JSON, memoryview(b'{"a":2}')) == {"a": 2}


def test_retry_after_delta_seconds_become_milliseconds():
    assert retry_after_ms({"retry-after": "30"}) == 30000
    assert retry_after_ms({"retry-after": " 0 "}) == 0


def test_retry_after_date_absent_or_garbage_is_none():
    assert retry_after_ms({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_ms({}) is None
    assert retry_after_ms(None) is None
    assert retry_after_ms({"retry-after": "-5"}) is None
    assert retry_after_ms({"retry-after": "1.5"}) is None


def test_oauth_error_reads_rfc6749_google_and_none():
    assert oauth_error({"error": "access_denied", "error_description": "no"}) == ("access_denied", "no")
    assert oauth_error({"error_code": "rate_limit_exceeded"}) == ("rate_limit_exceeded", None)
    assert oauth_error({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota"}}) == (
        "resource_exhausted",
        "quota",
    )
    assert oauth_error({"access_token": "x"}) == (None, None)
    assert oauth_error({"error": 5}) == (None, None)


def test_oauth_error_description_is_shortened_for_the_screen():
    code, desc = oauth_error({"error": "x", "error_description": "a" * 1000})
    assert len(desc) == 200


def test_as_int_reads_json_numbers_and_form_strings():
    assert as_int(1800) == 1800
    assert as_int("900") == 900
    assert as_int(5.0) == 5
    assert as_int("5s") is None
    assert as_int(-1) is None
    assert as_int(True) is None
    assert as_int(None) is None


def test_token_set_normalises_optional_fields():
    t = token_set({"access_token": "a", "token_type": "Bearer", "other": 1})
    assert t == {
        "access_token": "a",
        "token_type": "Bearer",
        "expires_in": None,
        "refresh_token": None,
        "id_token": None,
        "scope": None,
    }


def test_token_set_rejects_missing_access_token_and_non_bearer():
    assert "access_token" in raises(ReplyError, token_set, {"token_type": "bearer"}).detail
    assert "token_type" in raises(ReplyError, token_set, {"access_token": "a"}).detail
    e = raises(ReplyError, token_set, {"access_token": "a", "token_type": "mac"})
    assert e.reason == "bad_reply" and "bearer" in e.detail
