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


# MicroPython's json module accepts all of these (a missing comma or colon, a doubled or trailing
# comma, a leading zero, an unknown escape, and even drops "y" from {"a": "x" "y"}): a reply cut
# or garbled on the way must not be read as something the server never sent.
GARBLED = (b'{"a" 1}', b'{"a":1 "b":2}', b'{"a":1,}', b'{"a":1,,"b":2}', b'{,"a":1}', b'{"a"::1}',
           b'{"a":01}', b'{"a":"x" "y"}', b'{"a":1 2}', b'{"a":"\\q"}', b'{"a":[1,]}', b'{"a":[1 2]}',
           b'{"a":-}', b'{"a":1.}', b'{"a":.5}', b'{"a":1e}', b'{"a":tru}', b'{"a":nul}', b'{"a":1}}',
           b'{"a":[1}', b'{"a":{"b":1]}', b'{"a":"\\u12G4"}', b'{"a":1} {"b":2}')


def test_garbled_json_is_a_bad_reply_on_every_runtime():
    for body in GARBLED:
        assert "JSON" in bad(JSON, body), body


def test_garbled_token_replies_are_never_tokens():
    for body in (b'{"access_token" "at-1", "token_type" "Bearer"}',
                 b'{"access_token": "at-1" "token_type": "Bearer", "expires_in": 3600}',
                 b'{"access_token": "at-1", "token_type": "Bearer", "expires_in": 36 00}',
                 b'{"access_token": "at-1", "token_type": "Bearer",, "refresh_token": "rt"}'):
        bad(JSON, body)


def test_well_formed_json_of_every_kind_is_read():
    body = (b' {"s": "caf\\u00e9 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t", "n": [0, -1, 2.5, -0.5e-3, 1E+2, 10],'
            b' "l": [true, false, null, [], {}, [[{"x": []}]]], "e": "", "k\\u0041": {"d": {"e": 1}}}\r\n')
    r = parse_reply(JSON, body)
    assert r["s"] == 'caf\u00e9 "q" \\ / \b\f\n\r\t' and r["n"] == [0, -1, 2.5, -0.0005, 100.0, 10]
    assert r["l"] == [True, False, None, [], {}, [[{"x": []}]]] and r["e"] == "" and r["kA"] == {"d": {"e": 1}}


def test_json_nested_too_deep_is_a_bad_reply():
    bad(JSON, b'{"a":' + b"[" * 40 + b"]" * 40 + b"}")


GOOD = {"access_token": "eyJ.a-b_c~d+e/f=", "token_type": "bearer"}


def with_(**kw):
    r = dict(GOOD)
    r.update(kw)
    return r


def test_token_set_takes_numbers_that_are_numbers():
    assert token_set(with_(expires_in=3600))["expires_in"] == 3600
    assert token_set(with_(expires_in=3600.0))["expires_in"] == 3600
    assert token_set(with_(expires_in="3599"))["expires_in"] == 3599  # form replies; Azure AD v1 in JSON
    assert token_set(with_(expires_in=None))["expires_in"] is None
    for wrong in (True, False, "3600s", "", -1, -0.5, [3600], {"s": 3600}, 1e300, float("nan")):
        e = raises(ReplyError, token_set, with_(expires_in=wrong))
        assert e.reason == "bad_reply" and "expires_in" in e.detail, wrong


def test_token_set_takes_strings_that_are_strings():
    for name in ("refresh_token", "id_token", "scope"):
        for wrong in (1, True, ["x"], {"x": 1}):
            e = raises(ReplyError, token_set, with_(**{name: wrong}))
            assert name in e.detail, (name, wrong)
    for wrong in (1, True, ["Bearer"]):
        raises(ReplyError, token_set, with_(token_type=wrong))


def test_an_access_token_must_be_visible_ascii_without_spaces():
    # RFC 6750 2.1: it goes into "Authorization: Bearer <token>" as it is.
    for wrong in ("", " ", "at 1", "at\t1", "at\x001", "at\u00e91", "at\r\n1", 7, ["at"]):
        e = raises(ReplyError, token_set, with_(access_token=wrong))
        assert "access_token" in e.detail, wrong
