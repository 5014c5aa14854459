# The device flow engine, event by event, against every RFC 8628 client rule
# (RFC 8628 §3.1-3.5) and the providers' quirks. No clock is read: the tests
# move a ManualClock (wrapping at 2^30 like an ESP32) and pass `now` in.
import json

from check import raises

from deviceflow.clock import TICKS_PERIOD
from deviceflow.manualclock import ManualClock
from deviceflow.errors import DeviceFlowError
from deviceflow.flow import DeviceFlow
from deviceflow.form import urldecode, urlencode

DEVICE_URL = "https://tenant.example.com/oauth/device/code"
TOKEN_URL = "https://tenant.example.com/oauth/token"
DEVICE_CODE = "Ag_EE-dev1ce-c0de-SECRET"
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
PENDING = {"error": "authorization_pending", "error_description": "User has yet to authorize device code."}


def js(obj):
    return json.dumps(obj).encode()


def code_reply(**changes):
    r = {
        "device_code": DEVICE_CODE,
        "user_code": "WDJB-MJHT",
        "verification_uri": "https://tenant.example.com/activate",
        "verification_uri_complete": "https://tenant.example.com/activate?user_code=WDJB-MJHT",
        "expires_in": 900,
        "interval": 5,
    }
    for k, v in changes.items():
        if v is None:
            r.pop(k, None)
        else:
            r[k] = v
    return r


def new_flow(start=1000, **kw):
    clock = ManualClock(start=start)
    return clock, DeviceFlow(clock, "client-123", DEVICE_URL, TOKEN_URL, **kw)


def showing_code(start=1000, reply=None, **kw):
    clock, flow = new_flow(start, **kw)
    flow.start(clock.now)
    a = flow.on_response(clock.now, 200, JSON, js(reply or code_reply()))
    assert a.kind == "show_code"
    return clock, flow


def poll_now(clock, flow):
    """Move the clock to the moment the next poll is due and take the Send."""
    a = flow.next_action(clock.now)
    if a.kind == "wait":
        clock.now = a.until
        a = flow.next_action(clock.now)
    assert a.kind == "send", a
    return a


def gap(clock, a, b):
    return clock.ticks_diff(a, b)


# ---- the device authorization request (rule 1) ------------------------------------
def test_device_request_is_a_form_post_with_client_scope_audience_and_extras():
    clock, flow = new_flow(scope="openid offline_access", audience="https://api.example.com/",
                           extra_params={"resource": "urn:x"})
    assert flow.state == "idle"
    a = flow.start(clock.now)
    assert a.kind == "send" and a.method == "POST" and a.url == DEVICE_URL
    assert a.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert a.headers["Accept"] == "application/json"
    assert isinstance(a.body, bytes)
    assert urldecode(a.body) == {"client_id": "client-123", "scope": "openid offline_access",
                                 "audience": "https://api.example.com/", "resource": "urn:x"}
    assert flow.state == "requesting_code"


def test_device_request_leaves_out_scope_and_audience_when_not_configured():
    clock, flow = new_flow()
    assert urldecode(flow.start(clock.now).body) == {"client_id": "client-123"}


# ---- the device authorization response (rules 2, 3, 4) ------------------------------
def test_code_response_gives_show_code_with_expiry_and_keeps_device_code_private():
    clock, flow = new_flow()
    flow.start(clock.now)
    a = flow.on_response(clock.now, 200, JSON, js(code_reply()))
    assert a.kind == "show_code"
    assert a.user_code == "WDJB-MJHT" == flow.user_code
    assert a.verification_uri == "https://tenant.example.com/activate" == flow.verification_uri
    assert a.verification_uri_complete.endswith("user_code=WDJB-MJHT")
    assert a.message is None and a.expires_in == 900
    assert gap(clock, a.expires_at, clock.now) == 900000
    assert flow.state == "waiting"
    for text in (repr(a), repr(flow), str(flow)):
        assert DEVICE_CODE not in text
    assert not hasattr(flow, "device_code")


def test_user_code_is_shown_exactly_as_received():
    clock, flow = new_flow()
    flow.start(clock.now)
    a = flow.on_response(clock.now, 200, JSON, js(code_reply(user_code="aBc-dEf 9")))
    assert a.user_code == "aBc-dEf 9"


def test_google_verification_url_is_accepted_as_verification_uri():
    reply = code_reply(verification_uri=None, verification_uri_complete=None,
                       verification_url="https://www.google.com/device")
    clock, flow = new_flow()
    flow.start(clock.now)
    a = flow.on_response(clock.now, 200, JSON, js(reply))
    assert a.verification_uri == "https://www.google.com/device"
    assert a.verification_uri_complete is None


def test_entra_message_is_kept():
    msg = "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code X."
    clock, flow = new_flow()
    flow.start(clock.now)
    a = flow.on_response(clock.now, 200, JSON, js(code_reply(message=msg, verification_uri_complete=None)))
    assert a.message == msg == flow.message


def test_github_form_encoded_code_response_with_string_numbers():
    clock, flow = new_flow()
    flow.start(clock.now)
    body = urlencode([("device_code", DEVICE_CODE), ("user_code", "ABCD-1234"),
                      ("verification_uri", "https://github.com/login/device"), ("expires_in", "899"),
                      ("interval", "7")])
    a = flow.on_response(clock.now, 200, FORM, body)
    assert a.kind == "show_code" and a.expires_in == 899
    assert flow.interval_ms == 7000


def test_missing_required_field_fails_bad_reply_naming_it():
    for field in ("device_code", "user_code", "verification_uri", "expires_in"):
        clock, flow = new_flow()
        flow.start(clock.now)
        a = flow.on_response(clock.now, 200, JSON, js(code_reply(**{field: None})))
        assert a.kind == "failed" and a.reason == "bad_reply", field
        assert field in a.description
        assert flow.state == "failed"


def test_device_endpoint_oauth_error_fails_with_that_error():
    clock, flow = new_flow()
    flow.start(clock.now)
    a = flow.on_response(clock.now, 401, JSON, js({"error": "unauthorized_client",
                                                   "error_description": "Grant type not allowed"}))
    assert a.kind == "failed" and a.reason == "unauthorized_client"
    assert a.description == "Grant type not allowed"


def test_device_endpoint_html_200_is_bad_reply():
    clock, flow = new_flow()
    flow.start(clock.now)
    a = flow.on_response(clock.now, 200, {"content-type": "text/html"}, b"<html>hotel wifi</html>")
    assert a.kind == "failed" and a.reason == "bad_reply" and "HTML" in a.description


def test_device_endpoint_outage_backs_off_then_repeats_the_device_request():
    clock, flow = new_flow()
    first = flow.start(clock.now)
    a = flow.on_response(clock.now, 503, {"content-type": "text/html"}, b"<h1>Service Unavailable</h1>")
    assert a.kind == "wait" and gap(clock, a.until, clock.now) == 10000
    clock.advance(1000)
    assert flow.next_action(clock.now).kind == "wait"
    clock.now = a.until
    again = flow.next_action(clock.now)
    assert again.kind == "send" and again.url == DEVICE_URL and again.body == first.body
    b = flow.on_transport_error(clock.now, "timeout")
    assert b.kind == "wait" and gap(clock, b.until, clock.now) == 20000


def test_default_interval_is_5_s_when_absent():
    clock, flow = showing_code(reply=code_reply(interval=None))
    assert flow.interval_ms == 5000


# ---- polling (rules 5, 6) -----------------------------------------------------------
def test_first_poll_waits_one_interval_after_the_code_response():
    clock, flow = showing_code(reply=code_reply(interval=None))
    t0 = clock.now
    a = flow.next_action(clock.now)
    assert a.kind == "wait" and gap(clock, a.until, t0) == 5000
    clock.advance(4999)
    assert flow.next_action(clock.now).kind == "wait"
    clock.advance(1)
    assert flow.next_action(clock.now).kind == "send"


def test_poll_is_a_form_post_with_grant_type_device_code_and_client_id():
    clock, flow = showing_code(poll_params={"client_secret": "google-installed-app"})
    a = poll_now(clock, flow)
    assert a.method == "POST" and a.url == TOKEN_URL
    assert a.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert a.headers["Accept"] == "application/json"
    assert urldecode(a.body) == {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                 "device_code": DEVICE_CODE, "client_id": "client-123",
                                 "client_secret": "google-installed-app"}
    assert flow.state == "polling"
    assert DEVICE_CODE not in repr(a)


def test_interval_counts_from_the_previous_response_not_the_request():
    clock, flow = showing_code()
    poll_now(clock, flow)
    sent = clock.now
    clock.advance(3000)  # a slow answer
    a = flow.on_response(clock.now, 403, JSON, js(PENDING))
    assert a.kind == "wait" and gap(clock, a.until, clock.now) == 5000
    assert gap(clock, a.until, sent) == 8000
    clock.advance(4999)
    assert flow.next_action(clock.now).kind == "wait"


def test_next_action_never_sends_twice_while_a_poll_is_in_flight():
    clock, flow = showing_code()
    poll_now(clock, flow)
    clock.advance(60000)
    assert flow.next_action(clock.now).kind == "wait"
    assert flow.state == "polling"


# ---- pending and slow_down (rules 7, 12) --------------------------------------------
def test_authorization_pending_keeps_polling_whatever_the_http_status():
    clock, flow = showing_code()
    for status, headers, body in ((403, JSON, js(PENDING)),  # Auth0
                                  (428, JSON, js(PENDING)),  # Google
                                  (400, JSON, js(PENDING)),  # Keycloak, Entra, node oidc-provider
                                  (401, JSON, js(PENDING)),
                                  (200, FORM, urlencode(PENDING))):  # GitHub
        poll_now(clock, flow)
        a = flow.on_response(clock.now, status, headers, body)
        assert a.kind == "wait" and a.reason == "poll", status
        assert flow.state == "waiting"


def test_unknown_members_are_ignored():
    clock, flow = showing_code()
    poll_now(clock, flow)
    body = js({"error": "authorization_pending", "error_codes": [70016], "trace_id": "x", "timestamp": "y",
               "interval": 60})
    a = flow.on_response(clock.now, 400, JSON, body)
    assert a.kind == "wait" and gap(clock, a.until, clock.now) == 5000


def test_slow_down_adds_5_s_cumulatively_for_every_later_poll():
    clock, flow = showing_code()
    waits = []
    for reply in ({"error": "slow_down"}, PENDING, {"error": "slow_down"}, PENDING):
        poll_now(clock, flow)
        a = flow.on_response(clock.now, 429, JSON, js(reply))
        waits.append(gap(clock, a.until, clock.now))
    assert waits == [10000, 10000, 15000, 15000]
    assert flow.interval_ms == 15000


def test_slow_down_takes_the_servers_interval_when_larger_github():
    clock, flow = showing_code()
    poll_now(clock, flow)
    a = flow.on_response(clock.now, 200, FORM, b"error=slow_down&error_description=Too+fast&interval=25")
    assert gap(clock, a.until, clock.now) == 25000 and flow.interval_ms == 25000
    poll_now(clock, flow)
    a = flow.on_response(clock.now, 200, FORM, b"error=slow_down&interval=10")  # smaller: +5 s wins
    assert flow.interval_ms == 30000 and gap(clock, a.until, clock.now) == 30000


# ---- terminal outcomes (rules 8, 9) -------------------------------------------------
def terminal_after_poll(status, reply):
    clock, flow = showing_code()
    poll_now(clock, flow)
    return clock, flow, flow.on_response(clock.now, status, JSON, js(reply))


def test_access_denied_stops_with_the_providers_description():
    clock, flow, a = terminal_after_poll(403, {"error": "access_denied", "error_description": "User cancelled"})
    assert (a.kind, a.reason, a.description) == ("failed", "access_denied", "User cancelled")
    assert flow.state == "failed"


def test_entra_authorization_declined_is_access_denied():
    clock, flow, a = terminal_after_poll(400, {"error": "authorization_declined"})
    assert a.reason == "access_denied" and a.description


def test_expired_token_invalid_grant_invalid_client_are_distinct():
    seen = []
    for code in ("expired_token", "invalid_grant", "invalid_client"):
        clock, flow, a = terminal_after_poll(400, {"error": code})
        assert a.kind == "failed" and a.description
        seen.append(a.reason)
    assert seen == ["expired_token", "invalid_grant", "invalid_client"]


def test_unknown_error_stops_with_the_servers_code_and_description():
    clock, flow, a = terminal_after_poll(400, {"error": "bad_verification_code", "error_description": "Nope"})
    assert (a.reason, a.description) == ("bad_verification_code", "Nope")
    clock, flow, a = terminal_after_poll(400, {"error": "weird"})
    assert a.reason == "weird" and "weird" in a.description


def test_after_a_failure_the_engine_never_starts_a_new_code_by_itself():
    clock, flow, a = terminal_after_poll(403, {"error": "expired_token"})
    for _ in range(5):
        clock.advance(60000)
        b = flow.next_action(clock.now)
        assert b.kind == "failed" and b.reason == "expired_token"
    again = flow.start(clock.now)  # only when the app asks (a button press)
    assert again.kind == "send" and again.url == DEVICE_URL and flow.user_code is None


def test_description_never_echoes_the_device_code():
    clock, flow, a = terminal_after_poll(400, {"error": "invalid_grant",
                                               "error_description": "unknown code " + DEVICE_CODE})
    assert a.reason == "invalid_grant" and DEVICE_CODE not in a.description and DEVICE_CODE not in repr(a)


def test_a_description_cut_inside_the_device_code_drops_the_cut_piece_too():
    # Descriptions are shortened for the screen; a cut that leaves half the code must not leak it.
    desc = "x" * 180 + DEVICE_CODE  # cut at 197 characters: 17 of the code survive the cut
    clock, flow, a = terminal_after_poll(400, {"error": "invalid_grant", "error_description": desc})
    assert DEVICE_CODE[:10] not in a.description and DEVICE_CODE[:8] not in repr(a)


# ---- local expiry (rule 10) -----------------------------------------------------------
def test_local_expiry_even_when_the_server_keeps_saying_pending():
    clock, flow = showing_code(reply=code_reply(expires_in=30))
    deadline = flow.expires_at
    polls = 0
    while True:
        a = flow.next_action(clock.now)
        if a.kind == "failed":
            break
        if a.kind == "wait":
            assert gap(clock, a.until, deadline) <= 0  # never waits past the expiry
            clock.now = a.until
            continue
        polls += 1
        clock.advance(200)
        b = flow.on_response(clock.now, 403, JSON, js(PENDING))
        if b.kind == "failed":
            a = b
            break
    assert a.reason == "expired_token" and a.description
    assert gap(clock, clock.now, deadline) >= 0
    assert 4 <= polls <= 6
    assert flow.next_action(clock.now).kind == "failed"


def test_pending_answer_arriving_after_expiry_fails_expired():
    clock, flow = showing_code(reply=code_reply(expires_in=6))
    poll_now(clock, flow)
    clock.advance(2000)
    a = flow.on_response(clock.now, 403, JSON, js(PENDING))
    assert a.kind == "failed" and a.reason == "expired_token"


# ---- transient failures (rule 11) ---------------------------------------------------
def test_transport_errors_back_off_doubling_capped_and_reset_after_an_answer():
    clock, flow = showing_code(max_backoff_ms=60000, reply=code_reply(expires_in=3600))
    waits = []
    for _ in range(6):
        poll_now(clock, flow)
        a = flow.on_transport_error(clock.now, "timeout")
        assert a.kind == "wait" and a.reason == "backoff"
        waits.append(gap(clock, a.until, clock.now))
    assert waits == [10000, 20000, 40000, 60000, 60000, 60000]
    poll_now(clock, flow)
    a = flow.on_response(clock.now, 403, JSON, js(PENDING))
    assert gap(clock, a.until, clock.now) == 5000
    poll_now(clock, flow)
    a = flow.on_transport_error(clock.now, "timeout")  # a fresh failure starts over
    assert gap(clock, a.until, clock.now) == 10000


def test_backoff_never_polls_sooner_than_the_interval():
    clock, flow = showing_code(max_backoff_ms=1000, reply=code_reply(interval=8))
    poll_now(clock, flow)
    a = flow.on_transport_error(clock.now, "refused")
    assert gap(clock, a.until, clock.now) == 8000


def test_server_outages_on_a_poll_are_transient_and_honour_retry_after():
    clock, flow = showing_code(reply=code_reply(expires_in=3600))
    cases = ((503, {"content-type": "text/html", "retry-after": "120"}, b"<html>down</html>", 120000),
             (429, {"retry-after": "2"}, b"", 20000),
             (502, JSON, js({"message": "bad gateway"}), 40000),
             (200, JSON, b'{"access_token": "abc", "tok', 80000),  # cut-off reply
             (500, JSON, js({"error": "server_error"}), 160000),
             (503, JSON, js({"error": "temporarily_unavailable"}), 300000))
    for status, headers, body, expect in cases:
        poll_now(clock, flow)
        a = flow.on_response(clock.now, status, headers, body)
        assert a.kind == "wait" and a.reason == "backoff", status
        assert gap(clock, a.until, clock.now) == expect, (status, gap(clock, a.until, clock.now))
    assert flow.state == "waiting"


def test_retry_after_on_slow_down_is_honoured():
    clock, flow = showing_code()
    poll_now(clock, flow)
    a = flow.on_response(clock.now, 429, {"content-type": "application/json", "retry-after": "45"},
                         js({"error": "slow_down"}))
    assert gap(clock, a.until, clock.now) == 45000


def test_full_jitter_stays_between_the_interval_and_the_cap():
    draws = [0.0, 0.999, 0.5]
    clock, flow = showing_code(jitter=lambda: draws.pop(0), reply=code_reply(expires_in=3600))
    waits = []
    for _ in range(3):
        poll_now(clock, flow)
        waits.append(gap(clock, flow.on_transport_error(clock.now, "reset").until, clock.now))
    assert waits[0] == 5000  # 0 x 10 s, floored at the interval
    assert waits[1] == int(20000 * 0.999)
    assert waits[2] == 20000  # 0.5 x 40 s


def test_transient_failures_never_end_the_flow_only_expiry_does():
    clock, flow = showing_code(reply=code_reply(expires_in=600), max_backoff_ms=20000)
    kinds = set()
    while True:
        a = flow.next_action(clock.now)
        if a.kind == "wait":
            clock.now = a.until
            continue
        if a.kind == "failed":
            break
        b = flow.on_transport_error(clock.now, "dns")
        kinds.add(b.kind)
        if b.kind == "failed":
            a = b
            break
    assert kinds == {"wait"} or kinds == {"wait", "failed"}
    assert a.reason == "expired_token"


# ---- the token response (rule 13) ---------------------------------------------------
def test_tokens_arrive_with_case_insensitive_bearer_and_optional_expiry():
    clock, flow = showing_code()
    poll_now(clock, flow)
    a = flow.on_response(clock.now, 200, JSON, js({"access_token": "AT-1", "token_type": "BEARER",
                                                   "refresh_token": "RT-1", "id_token": "h.p.s",
                                                   "scope": "openid offline_access", "extra": 1}))
    assert a.kind == "tokens" and a.rotated is False
    assert a.tokens == {"access_token": "AT-1", "token_type": "BEARER", "expires_in": None,
                        "refresh_token": "RT-1", "id_token": "h.p.s", "scope": "openid offline_access"}
    assert flow.state == "done"
    for secret in ("AT-1", "RT-1", "h.p.s"):
        assert secret not in repr(a)
    raises(DeviceFlowError, flow.next_action, clock.now)


def test_github_form_encoded_tokens_with_http_200():
    clock, flow = showing_code()
    poll_now(clock, flow)
    a = flow.on_response(clock.now, 200, FORM, b"access_token=gho_16C7e42F&scope=repo&token_type=bearer")
    assert a.kind == "tokens" and a.tokens["access_token"] == "gho_16C7e42F" and a.tokens["refresh_token"] is None


def test_token_type_other_than_bearer_or_missing_access_token_is_bad_reply():
    for reply in ({"access_token": "x", "token_type": "mac", "expires_in": 60},
                  {"token_type": "Bearer", "expires_in": 60},
                  {"access_token": "x"}):
        clock, flow = showing_code()
        poll_now(clock, flow)
        a = flow.on_response(clock.now, 200, JSON, js(reply))
        assert a.kind == "failed" and a.reason == "bad_reply" and a.description


def test_expires_in_is_an_int_when_present():
    clock, flow = showing_code()
    poll_now(clock, flow)
    a = flow.on_response(clock.now, 200, JSON, js({"access_token": "x", "token_type": "Bearer",
                                                   "expires_in": 86400}))
    assert a.tokens["expires_in"] == 86400


# ---- ticks wrapping at 2^30 ---------------------------------------------------------
def test_polls_fall_due_across_the_tick_wrap():
    clock, flow = showing_code(start=TICKS_PERIOD - 2000)
    a = flow.next_action(clock.now)
    assert a.until == 3000  # wrapped
    clock.advance(1999)
    assert clock.now == TICKS_PERIOD - 1 and flow.next_action(clock.now).kind == "wait"
    clock.advance(2999)
    assert clock.now == 2998 and flow.next_action(clock.now).kind == "wait"
    clock.advance(2)
    assert flow.next_action(clock.now).kind == "send"
    a = flow.on_response(clock.now, 403, JSON, js(PENDING))
    assert a.until == 8000


def test_local_expiry_right_at_the_tick_wrap():
    clock, flow = showing_code(start=TICKS_PERIOD - 10000, reply=code_reply(expires_in=10, interval=4))
    assert flow.expires_at == 0
    results = []
    while len(results) < 10:
        a = flow.next_action(clock.now)
        if a.kind == "wait":
            assert a.until in (TICKS_PERIOD - 6000, TICKS_PERIOD - 2000, 0)
            clock.now = a.until
            continue
        results.append(a.kind)
        if a.kind == "failed":
            break
        flow.on_response(clock.now, 403, JSON, js(PENDING))
    assert results == ["send", "send", "failed"] and clock.now == 0


def test_on_response_without_a_request_in_flight_is_a_library_error():
    clock, flow = showing_code()
    e = raises(DeviceFlowError, flow.on_response, clock.now, 200, JSON, js(PENDING))
    assert e.reason == "bad_state"


# ---- found by tests/test_fuzz.py ----------------------------------------------------------
def test_an_error_code_echoing_the_device_code_never_becomes_the_reason():
    # The app logs Failed.reason as `event=error reason=...`: a server (or a proxy) that puts
    # the device code in its `error` member must not get it into the log.
    clock, flow = showing_code()
    poll_now(clock, flow)
    a = flow.on_response(clock.now, 400, JSON, js({"error": DEVICE_CODE}))
    assert a.kind == "failed" and a.reason == "unknown_error"
    assert DEVICE_CODE not in repr(a) and DEVICE_CODE not in a.description


# ---- the retry schedule a fleet sees (backoff_ms; tools/fleet.py measures the fleet) ----------

def test_backoff_without_a_spread_doubles_with_full_jitter_up_to_the_cap():
    from deviceflow.clock import backoff_ms
    assert [backoff_ms(5000, f, 300000) for f in (1, 2, 3, 6, 7, 20)] == [10000, 20000, 40000, 300000, 300000, 300000]
    assert backoff_ms(5000, 3, 300000, lambda: 0.5) == 20000
    assert backoff_ms(5000, 3, 300000, lambda: 0.0) == 5000  # never below the floor


def test_a_spread_sends_every_retry_back_into_the_spread_window():
    from deviceflow.clock import backoff_ms
    spread = 1000000  # refresh_spread_s 1000: a 10,000-device fleet at a third of 30/s
    for failures in (1, 2, 5, 30):
        for draw in (0.0, 0.25, 0.5, 0.999):
            wait = backoff_ms(5000, failures, 300000, lambda: draw, None, spread)
            assert 900000 <= wait <= 1100000, (failures, draw, wait)
    assert backoff_ms(5000, 1, 300000, lambda: 0.0, None, spread) == 900000
    assert backoff_ms(5000, 1, 300000, lambda: 0.5, None, spread) == 1000000
    # A spread shorter than the exponential backoff leaves the backoff as it was.
    assert backoff_ms(5000, 9, 300000, lambda: 0.999, None, 10000) == 299700


def test_retry_after_is_a_floor_with_jitter_on_top():
    from deviceflow.clock import MAX_SPAN_MS, backoff_ms
    assert backoff_ms(5000, 1, 300000, None, 60000) == 60000  # no jitter source: exactly
    waits = [backoff_ms(5000, 1, 300000, lambda: d, 60000) for d in (0.0, 0.5, 0.999)]
    assert waits == [60000, 75000, 89970]  # a fleet told "60" comes back over 30 s, not in one
    assert backoff_ms(5000, 1, 300000, lambda: 0.999, 10 ** 12) == MAX_SPAN_MS


def test_a_refresh_turned_away_by_an_outage_retries_a_spread_later_a_rate_limit_sooner():
    from deviceflow.refresh import RefreshGrant
    clock = ManualClock(start=TICKS_PERIOD - 1000)
    grant = RefreshGrant(clock, "client-123", TOKEN_URL, "rt-SECRET", jitter=lambda: 0.5, spread_ms=1000000)
    grant.start(clock.now)
    outages = ((503, {"content-type": "text/html"}, b"<html>down</html>"),
               (500, JSON, js({"error": "server_error"})),
               (200, JSON, js({"error": "temporarily_unavailable"})),
               (502, {}, b"Bad Gateway"))
    for status, headers, body in outages:
        a = grant.on_response(clock.now, status, headers, body)
        assert a.kind == "wait" and clock.ticks_diff(a.until, clock.now) == 1000000, status
        clock.now = a.until
        assert grant.next_action(clock.now).kind == "send"
    a = grant.on_transport_error(clock.now, "timeout")
    assert clock.ticks_diff(a.until, clock.now) == 1000000
    clock.now = a.until
    grant.next_action(clock.now)
    # 429: the provider is up and counting; its Retry-After (2 s, jittered) and the exponential
    # backoff decide, not the spread.
    a = grant.on_response(clock.now, 429, {"retry-after": "2"}, js({"error": "too_many_requests"}))
    assert clock.ticks_diff(a.until, clock.now) == 300000 // 2  # 6 failures: the 300 s cap, jitter 0.5
    fresh = RefreshGrant(clock, "client-123", TOKEN_URL, "rt-SECRET", jitter=lambda: 0.5, spread_ms=1000000)
    fresh.start(clock.now)
    a = fresh.on_response(clock.now, 429, {"retry-after": "2"}, js({"error": "too_many_requests"}))
    assert clock.ticks_diff(a.until, clock.now) == 5000  # the first 429: 0.5 x 10 s
