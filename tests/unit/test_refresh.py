# The refresh token grant (RFC 6749 §6): rotation, "sign in
# again", and backing off (never failing) when the network or the server has a bad moment.
import json

from check import raises

from deviceflow.clock import TICKS_PERIOD
from deviceflow.manualclock import ManualClock
from deviceflow.errors import DeviceFlowError
from deviceflow.form import urldecode
from deviceflow.refresh import RefreshGrant

TOKEN_URL = "https://tenant.example.com/oauth/token"
OLD_RT = "v1.MR-old-refresh-token-SECRET"
JSON = {"content-type": "application/json"}


def js(obj):
    return json.dumps(obj).encode()


def refreshing(start=5000, **kw):
    clock = ManualClock(start=start)
    grant = RefreshGrant(clock, "client-123", TOKEN_URL, OLD_RT, **kw)
    send = grant.start(clock.now)
    return clock, grant, send


def gap(clock, a, b):
    return clock.ticks_diff(a, b)


def test_refresh_request_is_a_form_post_with_grant_type_token_and_client_id():
    clock, grant, a = refreshing(extra_params={"client_secret": "opt-in"})
    assert a.kind == "send" and a.method == "POST" and a.url == TOKEN_URL
    assert a.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert a.headers["Accept"] == "application/json"
    assert urldecode(a.body) == {"grant_type": "refresh_token", "refresh_token": OLD_RT,
                                 "client_id": "client-123", "client_secret": "opt-in"}
    assert OLD_RT not in repr(a) and OLD_RT not in repr(grant)


def test_rotated_refresh_token_is_returned_and_flagged():
    clock, grant, _ = refreshing()
    a = grant.on_response(clock.now, 200, JSON, js({"access_token": "AT-2", "token_type": "Bearer",
                                                    "expires_in": 86400, "refresh_token": "RT-NEW"}))
    assert a.kind == "tokens" and a.rotated is True
    assert a.tokens["refresh_token"] == "RT-NEW" and a.tokens["access_token"] == "AT-2"
    assert a.tokens["expires_in"] == 86400
    for secret in ("AT-2", "RT-NEW", OLD_RT):
        assert secret not in repr(a)
    assert grant.state == "done"


def test_without_rotation_the_old_refresh_token_is_kept():
    clock, grant, _ = refreshing()
    a = grant.on_response(clock.now, 200, JSON, js({"access_token": "AT-2", "token_type": "bearer"}))
    assert a.kind == "tokens" and a.rotated is False
    assert a.tokens["refresh_token"] == OLD_RT and a.tokens["expires_in"] is None


def test_the_same_refresh_token_sent_back_is_not_a_rotation():
    clock, grant, _ = refreshing()
    a = grant.on_response(clock.now, 200, JSON, js({"access_token": "A", "token_type": "bearer",
                                                    "refresh_token": OLD_RT}))
    assert a.rotated is False and a.tokens["refresh_token"] == OLD_RT


def test_invalid_grant_means_sign_in_again_whatever_the_status():
    for status in (400, 401, 403, 200, 503):  # even on a 5xx: the grant is named as gone
        clock, grant, _ = refreshing()
        a = grant.on_response(clock.now, status, JSON, js({"error": "invalid_grant",
                                                           "error_description": "Unknown or invalid refresh token."}))
        assert (a.kind, a.reason, a.description) == ("failed", "invalid_grant", "Unknown or invalid refresh token.")
        assert grant.next_action(clock.now).reason == "invalid_grant"  # never retried


def test_invalid_client_and_unauthorized_client_fail():
    for code in ("invalid_client", "unauthorized_client"):
        clock, grant, _ = refreshing()
        a = grant.on_response(clock.now, 401, JSON, js({"error": code}))
        assert a.kind == "failed" and a.reason == code and a.description


def test_description_never_echoes_the_refresh_token():
    clock, grant, _ = refreshing()
    a = grant.on_response(clock.now, 400, JSON, js({"error": "invalid_grant", "error_description": "bad " + OLD_RT}))
    assert OLD_RT not in a.description


def test_token_reply_without_access_token_or_not_bearer_is_bad_reply():
    for reply in ({"token_type": "bearer", "refresh_token": "x"}, {"access_token": "a", "token_type": "MAC"}):
        clock, grant, _ = refreshing()
        a = grant.on_response(clock.now, 200, JSON, js(reply))
        assert a.kind == "failed" and a.reason == "bad_reply"


def test_429_5xx_and_error_pages_back_off_and_retry_later():
    clock, grant, first = refreshing(max_backoff_ms=300000)
    cases = ((503, {"content-type": "text/html"}, b"<html>maintenance</html>", 10000),
             (429, JSON, js({"error": "too_many_requests"}), 20000),
             (500, JSON, js({"error": "access_denied"}), 40000),  # a 5xx is the server's bad moment
             (502, {}, b"Bad Gateway", 80000),
             (200, {"content-type": "text/html"}, b"<html>captive portal</html>", 160000),
             (404, {"content-type": "text/html"}, b"<html>not found</html>", 300000))
    for status, headers, body, expect in cases:
        a = grant.on_response(clock.now, status, headers, body)
        assert a.kind == "wait" and a.reason == "backoff", status
        assert gap(clock, a.until, clock.now) == expect, status
        clock.advance(expect - 1)
        assert grant.next_action(clock.now).kind == "wait"
        clock.advance(1)
        again = grant.next_action(clock.now)
        assert again.kind == "send" and again.body == first.body


def test_retry_after_is_honoured():
    clock, grant, _ = refreshing()
    a = grant.on_response(clock.now, 429, {"content-type": "application/json", "retry-after": "600"},
                          js({"error": "too_many_requests"}))
    assert gap(clock, a.until, clock.now) == 600000


def test_transport_errors_back_off_forever_and_never_fail():
    clock, grant, _ = refreshing(max_backoff_ms=40000)
    waits = []
    for _ in range(30):
        a = grant.on_transport_error(clock.now, "dns")
        assert a.kind == "wait"
        waits.append(gap(clock, a.until, clock.now))
        clock.now = a.until
        assert grant.next_action(clock.now).kind == "send"
    assert waits[:4] == [10000, 20000, 40000, 40000] and max(waits) == 40000


def test_full_jitter_never_below_the_base():
    clock, grant, _ = refreshing(jitter=lambda: 0.0)
    a = grant.on_transport_error(clock.now, "reset")
    assert gap(clock, a.until, clock.now) == 5000


def test_next_action_never_sends_twice_while_in_flight():
    clock, grant, _ = refreshing()
    clock.advance(600000)
    assert grant.next_action(clock.now).kind == "wait"


def test_retry_falls_due_across_the_tick_wrap():
    clock, grant, _ = refreshing(start=TICKS_PERIOD - 3000)
    a = grant.on_transport_error(clock.now, "timeout")
    assert a.until == 7000
    clock.advance(2999)
    assert grant.next_action(clock.now).kind == "wait"
    clock.advance(7000)
    assert clock.now == 6999 and grant.next_action(clock.now).kind == "wait"
    clock.advance(1)
    assert grant.next_action(clock.now).kind == "send"


def test_a_used_grant_cannot_be_sent_again():
    clock, grant, _ = refreshing()
    grant.on_response(clock.now, 200, JSON, js({"access_token": "A", "token_type": "bearer", "refresh_token": "N"}))
    assert raises(DeviceFlowError, grant.start, clock.now).reason == "bad_state"
    assert raises(DeviceFlowError, grant.next_action, clock.now).reason == "bad_state"


# ---- found by tests/test_fuzz.py ----------------------------------------------------------
def test_an_error_code_echoing_the_refresh_token_never_becomes_the_reason():
    clock, grant, _ = refreshing()
    a = grant.on_response(clock.now, 200, {}, ("error=" + OLD_RT).encode())
    assert a.kind == "failed" and a.reason == "unknown_error"
    assert OLD_RT not in repr(a) and OLD_RT not in a.description
