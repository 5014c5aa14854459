"""Fuzzing (hypothesis, derandomized so CI is reproducible) of everything that reads bytes a
server or the flash gives us: the reply and form parsers, the device-flow and refresh engines
driven by random event sequences, the JWT/JWKS parsers and ID-token check, and the token store
loader. Properties:

- nothing escapes but the library's documented errors (deviceflow.errors);
- the engines never poll sooner than the interval (RFC 8628 3.5, counted from the previous
  response, slow_down adding 5 s), never retry a refresh sooner than its floor or Retry-After,
  and never show the device code or refresh token in any action's repr or description;
- next_action always returns a valid action (Send, Wait, Failed) while a flow is under way.

- the transport, against a real peer on 127.0.0.1, turns any response head (header floods, bytes
  that are not text, non-ASCII digits) into a Response or a TransportError, never with more
  than 64 headers.

- garbled token replies (bytes deleted, inserted, changed) are refused exactly as a strict JSON
  parser refuses them, on MicroPython too, and never read as tokens.

- huge tick spans (a session of any lifetime or time unplugged, any Retry-After) on a clock
  that raises on overflow, as an ESP32 does.

Total: 15,300 cases (see EXAMPLES); about 55 s on one core.
"""
import base64
import json
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
for _p in ("lib", "tests/unit", "tests"):
    if os.path.join(ROOT, _p) not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, _p))

from deviceflow import jwt  # noqa: E402
from deviceflow.clock import MAX_SPAN_MS, TICKS_PERIOD  # noqa: E402
from deviceflow.manualclock import ManualClock  # noqa: E402
from deviceflow.errors import DeviceFlowError, ReplyError, TokenError  # noqa: E402
from deviceflow.actions import Failed, Send, ShowCode, TokensReady, Wait  # noqa: E402
from deviceflow.flow import DEFAULT_INTERVAL_MS, SLOW_DOWN_MS, DeviceFlow  # noqa: E402
from deviceflow.form import urldecode, urlencode  # noqa: E402
from deviceflow.refresh import RETRY_BASE_MS, RefreshGrant  # noqa: E402
from deviceflow.replies import as_int, oauth_error, parse_reply, retry_after_ms, token_set, well_formed_json  # noqa: E402
from deviceflow.store import TokenStore  # noqa: E402
import jwt_fixtures as fx  # noqa: E402

EXAMPLES = {"parse_reply": 2000, "form": 1500, "reply_fields": 1000, "flow": 2500, "refresh": 1500,
            "jwt": 1500, "jwks": 800, "id_token": 300, "store": 1200, "http_head": 300,
            "garbled_json": 1500}


def fuzz(name):
    return settings(max_examples=EXAMPLES[name], derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


# ---- strategies ------------------------------------------------------------------------------
DEVICE_CODE = "Dc-9f8e7d6c5b4a-SECRET-device-code"  # distinctive, so a leak is unmistakable
REFRESH_TOKEN = "Rt-0123456789-SECRET-refresh-token"

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=12)
ctypes = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                          "application/x-www-form-urlencoded", "text/html", "", "APPLICATION/JSON",
                          "application/problem+json", "text/html; charset=utf-8"])
header_values = st.one_of(st.text(max_size=20), st.sampled_from(["0", "1", "5", "30", "120", "999999999",
                                                                 "1000000000", "-1", " 7 ", "Wed, 21 Oct 2015"]))


@st.composite
def headers(draw):
    h = {}
    if draw(st.booleans()):
        h["content-type"] = draw(ctypes)
    if draw(st.booleans()):
        h["retry-after"] = draw(header_values)
    return h


def _dumps(obj):
    try:
        return json.dumps(obj).encode()
    except (ValueError, TypeError):
        return b"{}"


OAUTH_ERRORS = ["authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_grant",
                "invalid_client", "server_error", "temporarily_unavailable", "too_many_requests",
                "authorization_declined", "unauthorized_client", "weird_error", ""]
# strings a server might send back, some of them echoing the secret the request carried
texts_with_secrets = st.one_of(st.text(max_size=40), st.sampled_from([
    DEVICE_CODE, REFRESH_TOKEN, "bad code " + DEVICE_CODE, "token " + REFRESH_TOKEN + " revoked",
    "x" * 300 + DEVICE_CODE]))


@st.composite
def bodies(draw, device=False):
    """A reply body: structured OAuth replies (right or subtly wrong) or junk."""
    kind = draw(st.sampled_from(["code", "code", "error", "error", "error", "error", "error", "tokens", "json", "junk",
                                 "form", "empty"]
                                if device else ["error", "error", "tokens", "json", "junk", "form", "empty"]))
    if kind == "code" and draw(st.booleans()):  # a right one, so that polling gets going
        reply = {"device_code": DEVICE_CODE, "user_code": "WDJB-MJHT", "verification_uri": "https://e.example/a",
                 "expires_in": draw(st.integers(1, 1800))}
        interval = draw(st.one_of(st.none(), st.integers(0, 15)))
        if interval is not None:
            reply["interval"] = interval
        return _dumps(reply)
    if kind == "code":
        reply = {"device_code": DEVICE_CODE, "user_code": draw(st.sampled_from(["WDJB-MJHT", "ABCD", ""])),
                 "verification_uri": draw(st.sampled_from(["https://e.example/activate", "", None])),
                 "expires_in": draw(st.one_of(st.integers(-5, 2000), st.sampled_from(["900", "x", None, 1.5e12]))),
                 "interval": draw(st.one_of(st.integers(-2, 100), st.sampled_from(["5", "zz", None, 10 ** 9])))}
        if draw(st.booleans()):
            reply["verification_uri_complete"] = draw(st.sampled_from(["https://e.example/activate?user_code=WDJB-MJHT", 7]))
        if draw(st.booleans()):
            reply["message"] = draw(st.text(max_size=50))
        if draw(st.booleans()):
            reply.pop(draw(st.sampled_from(sorted(reply))))
        return _dumps(reply)
    if kind == "error":
        common = st.sampled_from(["authorization_pending", "slow_down"])
        reply = {"error": draw(st.one_of(common, common, common, st.sampled_from(OAUTH_ERRORS), texts_with_secrets))}
        if draw(st.booleans()):
            reply["error_description"] = draw(texts_with_secrets)
        if draw(st.booleans()):
            reply["interval"] = draw(st.one_of(st.integers(-1, 200), st.text(max_size=4)))
        if draw(st.booleans()):
            reply = {"error": {"status": reply["error"], "message": reply.get("error_description")}}
        return _dumps(reply) if draw(st.integers(0, 3)) else urlencode(
            [(k, v) for k, v in reply.items() if isinstance(v, str)])
    if kind == "tokens":
        reply = {"access_token": draw(st.sampled_from(["at-1", "", None])),
                 "token_type": draw(st.sampled_from(["Bearer", "bearer", "BEARER", "mac", None])),
                 "expires_in": draw(st.one_of(st.integers(-5, 10 ** 6), st.sampled_from(["3600", None, "1e3"]))),
                 "refresh_token": draw(st.sampled_from([REFRESH_TOKEN, "rt-new", None, ""])),
                 "id_token": draw(st.sampled_from(["a.b.c", None]))}
        return _dumps(reply)
    if kind == "json":
        return _dumps(draw(json_values))
    if kind == "form":
        return urlencode(draw(st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=4)))
    if kind == "empty":
        return draw(st.sampled_from([b"", b"   ", None]))
    return draw(st.binary(max_size=80))


statuses = st.sampled_from([200, 200, 200, 201, 204, 400, 401, 403, 404, 428, 429, 500, 502, 503])


@st.composite
def replies(draw, device=False):
    """(status, headers, body): mostly what a provider sends (200 with a code or tokens, 4xx with
    an error, JSON content type), sometimes anything at all."""
    body = draw(bodies(device))
    if draw(st.integers(0, 3)) == 0:
        return draw(statuses), draw(headers()), body
    ok = body is not None and (b"device_code" in body or b"access_token" in body)
    status = 200 if ok else draw(st.sampled_from([400, 403, 428, 429, 200, 503]))
    h = {"content-type": "application/json"}
    if draw(st.integers(0, 4)) == 0:
        h["retry-after"] = draw(header_values)
    return status, h, body


# ---- reply and form parsers ------------------------------------------------------------------
@fuzz("parse_reply")
@given(headers(), st.one_of(bodies(device=True), st.binary(max_size=200), st.text(max_size=100)))
def test_parse_reply_gives_a_dict_or_reply_error(h, body):
    try:
        reply = parse_reply(h, body)
    except ReplyError as e:
        assert e.reason == "bad_reply"
        return
    assert isinstance(reply, dict)
    code, desc = oauth_error(reply)
    assert code is None or (isinstance(code, str) and len(code) <= 64)
    assert desc is None or isinstance(desc, str)
    ra = retry_after_ms(h)
    assert ra is None or (isinstance(ra, int) and ra >= 0)


@fuzz("form")
@given(st.one_of(st.binary(max_size=120), st.text(max_size=60)),
       st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=12)), max_size=5))
def test_form_decoding_never_raises_anything_else_and_round_trips(data, pairs):
    try:
        out = urldecode(data)
        assert isinstance(out, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in out.items())
    except ReplyError as e:
        assert e.reason == "bad_reply"
    expected = {}
    for k, v in pairs:
        expected[k] = v
    assert urldecode(urlencode(pairs)) == expected


@fuzz("reply_fields")
@given(st.dictionaries(st.sampled_from(["access_token", "token_type", "expires_in", "refresh_token", "id_token",
                                        "scope", "error", "error_description", "error_code", "x"]),
                       json_values, max_size=8), json_values)
def test_token_set_and_field_readers_on_any_json(reply, value):
    n = as_int(value)
    assert n is None or (isinstance(n, int) and n >= 0)
    oauth_error(reply)
    try:
        t = token_set(reply)
    except ReplyError as e:
        assert e.reason == "bad_reply"
        return
    assert t["token_type"].lower() == "bearer" and isinstance(t["access_token"], str) and t["access_token"]
    assert t["expires_in"] is None or t["expires_in"] >= 0


JSON_BYTES = b'{}[],:" 0123456789-.eE+\\/tnulrfasbu'


@st.composite
def garbled_token_replies(draw):
    """A token reply as a provider writes it, then up to three bytes deleted, inserted or changed
    (mostly JSON's own punctuation): what a cut or corrupted reply looks like."""
    reply = {"access_token": draw(st.sampled_from(["at-1", "eyJ.x.y", ""])), "token_type": "Bearer",
             "expires_in": draw(st.sampled_from([3600, 86400, 0, "3600"])),
             "refresh_token": draw(st.sampled_from([REFRESH_TOKEN, None])), "scope": "openid offline_access"}
    seps = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    data = bytearray(json.dumps(reply, separators=seps).encode())
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["delete", "insert", "change"]))
        byte = draw(st.sampled_from(JSON_BYTES))
        if op == "insert" or pos == len(data):
            data[pos:pos] = bytes([byte])
        elif op == "delete":
            del data[pos]
        else:
            data[pos] = byte
    return bytes(data)


def _strict_json(data):
    try:
        return json.loads(data.decode(), strict=False)  # strict=False: raw control characters allowed
    except ValueError:
        return ValueError


@fuzz("garbled_json")
@given(garbled_token_replies())
def test_garbled_token_replies_are_refused_as_strictly_as_a_strict_parser(data):
    """well_formed_json (which MicroPython relies on: its json takes {"a" 1}) agrees with
    CPython's strict parser on every garbling, and tokens come only from well-formed JSON."""
    strict = _strict_json(data)
    assert well_formed_json(data) == (strict is not ValueError), data
    try:
        tokens = token_set(parse_reply({"content-type": "application/json"}, data))
    except ReplyError as e:
        assert e.reason == "bad_reply"
        return
    assert isinstance(strict, dict) and tokens["access_token"] == strict["access_token"]
    assert tokens["refresh_token"] == strict.get("refresh_token") and tokens["token_type"].lower() == "bearer"


# ---- engines driven by random event sequences ------------------------------------------------
VALID = (Send, Wait, ShowCode, TokensReady, Failed)


def _no_secret(action, *secrets):
    texts = [repr(action), str(getattr(action, "description", "") or ""), str(getattr(action, "reason", "") or "")]
    for s in secrets:
        for t in texts:
            assert s not in t, (s, t)


def _check_wait(action):
    if isinstance(action, Wait):
        assert isinstance(action.until, int) and 0 <= action.until < TICKS_PERIOD


events = st.lists(st.tuples(st.sampled_from(["next", "next", "due", "due", "respond", "respond", "respond", "error",
                                              "start"]),
                            st.integers(0, 20000), replies(device=True)),
                  min_size=3, max_size=30)


@fuzz("flow")
@given(st.integers(0, TICKS_PERIOD - 1), events, st.sampled_from([None, lambda: 0.0, lambda: 0.999]),
       st.one_of(st.none(), st.integers(0, 12)))
def test_device_flow_under_random_events(start, evs, jitter, first_interval):
    clock = ManualClock(start=start)
    flow = DeviceFlow(clock, "client", "https://e.example/device", "https://e.example/token",
                      scope="openid offline_access", jitter=jitter)
    action = flow.start(clock.now)
    assert isinstance(action, Send)
    in_flight = action  # the request the next response answers
    interval = DEFAULT_INTERVAL_MS  # the model's own idea of the polling interval
    answered_at = None  # ticks of the previous response (or failure) while polling
    issued = False  # a device code was accepted (before that, a server string is no secret)
    if first_interval is not None:  # most runs begin with a good code, so that polling gets going
        reply = {"device_code": DEVICE_CODE, "user_code": "WDJB-MJHT", "verification_uri": "https://e.example/a",
                 "expires_in": 900, "interval": first_interval}
        evs = [("respond", 0, (200, {"content-type": "application/json"}, _dumps(reply)))] + evs
    for kind, dt, (status, h, body) in evs:
        if kind == "due" and isinstance(action, Wait):  # right at (or 1 ms before) the wake-up
            clock.advance(clock.ticks_diff(action.until, clock.now) - dt % 2)
            kind = "next"
        elif kind == "due":
            kind = "next"
            clock.advance(dt)
        else:
            clock.advance(dt)
        now = clock.now
        try:
            if kind == "start":
                action = flow.start(now)
                interval, answered_at, issued = DEFAULT_INTERVAL_MS, None, False
            elif kind == "next":
                action = flow.next_action(now)
            elif kind == "respond":
                was = flow.state
                action = flow.on_response(now, status, h, body)
                if was == "requesting_code" and isinstance(action, ShowCode):
                    reply = json.loads(body)
                    i = as_int(reply.get("interval"))
                    interval = min(i * 1000, MAX_SPAN_MS) if i else DEFAULT_INTERVAL_MS
                if was == "polling":
                    try:
                        reply = parse_reply(h, body)
                    except ReplyError:
                        reply = {}
                    if oauth_error(reply)[0] == "slow_down":
                        interval = min(interval + SLOW_DOWN_MS, MAX_SPAN_MS)
                        i = as_int(reply.get("interval"))
                        if i and i * 1000 > interval:
                            interval = min(i * 1000, MAX_SPAN_MS)
                if was in ("requesting_code", "polling"):
                    answered_at = now
            else:
                was = flow.state
                action = flow.on_transport_error(now, "timeout")
                if was == "polling" or (was == "requesting_code" and flow.user_code):
                    answered_at = now
        except DeviceFlowError as e:
            # documented: answering when nothing is in flight, or next_action on a finished flow
            assert e.reason == "bad_state", e
            assert kind in ("respond", "error") or flow.state in ("idle", "done"), (kind, flow.state)
            continue
        assert isinstance(action, VALID), action
        if isinstance(action, ShowCode):
            issued = True  # from here on the device code is this device's secret
        elif issued:
            _no_secret(action, DEVICE_CODE)
        assert DEVICE_CODE not in repr(flow)
        _check_wait(action)
        if isinstance(action, ShowCode):
            answered_at = now
        if isinstance(action, Send) and action.url.endswith("/token"):
            assert answered_at is not None
            waited = clock.ticks_diff(now, answered_at)
            assert waited >= interval, (waited, interval)  # never sooner than the interval
            assert b"device_code=" in action.body
        if kind == "next" and flow.state not in ("done", "idle"):
            assert isinstance(action, (Send, Wait, Failed)), action
        if isinstance(action, Failed):
            assert flow.next_action(now) is action  # stays failed, never polls again


refresh_events = st.lists(st.tuples(st.sampled_from(["next", "due", "due", "respond", "respond", "error", "start"]),
                                    st.integers(0, 400000), replies()),
                          min_size=1, max_size=20)


@fuzz("refresh")
@given(st.integers(0, TICKS_PERIOD - 1), refresh_events, st.sampled_from([None, lambda: 0.0, lambda: 0.5]))
def test_refresh_grant_under_random_events(start, evs, jitter):
    clock = ManualClock(start=start)
    grant = RefreshGrant(clock, "client", "https://e.example/token", REFRESH_TOKEN, jitter=jitter)
    grant.start(clock.now)
    failed_at = None
    min_wait = RETRY_BASE_MS
    action = None
    for kind, dt, (status, h, body) in evs:
        if kind == "due" and isinstance(action, Wait):
            clock.advance(clock.ticks_diff(action.until, clock.now) - dt % 2)
        else:
            clock.advance(dt)
        kind = "next" if kind == "due" else kind
        now = clock.now
        try:
            if kind == "start":
                action = grant.start(now)
            elif kind == "next":
                action = grant.next_action(now)
            elif kind == "respond":
                action = grant.on_response(now, status, h, body)
                if isinstance(action, Wait) and action.reason == "backoff":
                    failed_at, min_wait = now, max(RETRY_BASE_MS, retry_after_ms(h) or 0)
            else:
                action = grant.on_transport_error(now, "reset")
                failed_at, min_wait = now, RETRY_BASE_MS
        except DeviceFlowError as e:
            assert e.reason == "bad_state", e
            continue
        assert isinstance(action, (Send, Wait, TokensReady, Failed)), action
        _no_secret(action, REFRESH_TOKEN)
        _check_wait(action)
        if isinstance(action, Send):
            assert REFRESH_TOKEN.encode() in action.body
            if kind == "next" and failed_at is not None:
                waited = clock.ticks_diff(now, failed_at)
                assert waited >= min(min_wait, MAX_SPAN_MS), (waited, min_wait)
        if isinstance(action, TokensReady):
            rt = action.tokens["refresh_token"]
            assert rt and action.rotated == (rt != REFRESH_TOKEN)
            assert grant.state == "done"


# ---- JWT / JWKS ------------------------------------------------------------------------------
def _b64(obj):
    raw = obj if isinstance(obj, bytes) else _dumps(obj)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@st.composite
def tokens(draw):
    kind = draw(st.sampled_from(["structured", "text", "mutated"]))
    if kind == "text":
        return draw(st.one_of(st.text(max_size=80), st.binary(max_size=80)))
    if kind == "mutated":
        t = fx.TOKENS[draw(st.sampled_from(sorted(fx.TOKENS)))]
        i = draw(st.integers(0, len(t) - 1))
        return t[:i] + draw(st.text(alphabet="AZaz09-_.=+/ {}\"", max_size=3)) + t[i + draw(st.integers(0, 3)):]
    header = draw(st.one_of(st.fixed_dictionaries({"alg": st.sampled_from(["RS256", "none", "HS256", 1, None])},
                                                  optional={"kid": st.sampled_from(["k1", "k2", "nope", 5]),
                                                            "crit": json_values}), json_values))
    claims = draw(st.one_of(st.fixed_dictionaries(
        {"iss": st.sampled_from([fx.ISSUER, "https://evil/"]), "aud": st.sampled_from([fx.CLIENT_ID, [fx.CLIENT_ID], 3]),
         "exp": st.one_of(st.integers(0, 2 ** 40), st.floats(), st.text(max_size=3)),
         "iat": st.one_of(st.integers(0, 2 ** 40), st.booleans())}), json_values))
    sig = draw(st.binary(max_size=260))
    parts = [_b64(header), _b64(claims), _b64(sig)]
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, 3)), draw(st.sampled_from(["", "!!", "a"])))
    return ".".join(parts)


JWKS = jwt.JWKS.parse(fx.JWKS_JSON)


@fuzz("jwt")
@given(tokens(), st.sampled_from([fx.NOW, None, 0]))
def test_jwt_parsers_raise_only_token_errors(token, now):
    for f in (jwt.decode, jwt.unverified_claims):
        try:
            f(token)
        except TokenError:
            pass
    try:
        jwt.validate_id_token(token, JWKS, fx.ISSUER, fx.CLIENT_ID, now)
    except TokenError as e:
        assert e.reason in ("malformed", "alg", "unknown_kid", "signature", "iss", "aud", "azp",
                            "clock_unset", "exp", "iat"), e.reason
        return
    # accepted: only a token the provider really signed
    _, _, signing_input, signature = jwt.decode(token)
    originals = [jwt.decode(t) for t in (fx.TOKENS["valid"], fx.TOKENS["valid_k2"], fx.TOKENS["no_kid"],
                                         fx.TOKENS["aud_list_ok"], fx.TOKENS["aud_list_of_one"],
                                         fx.TOKENS["expired_within_skew"],
                                         fx.TOKENS["iat_future_within_skew"])]
    assert any(o[2] == signing_input and o[3] == signature for o in originals)


jwks_docs = st.one_of(st.binary(max_size=100), st.text(max_size=60), json_values,
                      st.fixed_dictionaries({"keys": st.lists(st.one_of(json_values, st.fixed_dictionaries(
                          {"kty": st.sampled_from(["RSA", "EC", 1]), "n": st.one_of(st.text(max_size=400), st.integers()),
                           "e": st.sampled_from(["AQAB", "Aw", "AA", "", "!", 3])},
                          optional={"kid": json_values, "use": st.sampled_from(["sig", "enc", 1]),
                                    "alg": st.sampled_from(["RS256", "RS512", None])})), max_size=4)}))


@fuzz("jwks")
@given(jwks_docs)
def test_jwks_parse_raises_only_reply_error(doc):
    try:
        keys = jwt.JWKS.parse(doc)
    except ReplyError as e:
        assert e.reason == "bad_reply"
        return
    for kid in keys.kids:
        n, e = keys.key(kid)
        assert n.bit_length() >= 2040 and e >= 3 and e & 1


@fuzz("id_token")
@given(st.sampled_from(["valid", "valid_k2", "no_kid"]), st.integers(0, 10 ** 6), st.integers(1, 255))
def test_any_changed_byte_of_a_signed_token_is_rejected(name, pos, flip):
    token = fx.TOKENS[name]
    i = pos % len(token)
    changed = token[:i] + chr((ord(token[i]) + flip) % 128) + token[i + 1:]
    try:
        claims = jwt.validate_id_token(changed, JWKS, fx.ISSUER, fx.CLIENT_ID, fx.NOW)
    except TokenError:
        return
    # base64url tolerates a change only in the unused low bits of a segment's last character
    assert jwt.decode(changed)[2:] == jwt.decode(token)[2:] and claims == jwt.decode(token)[1]


# ---- token store loader ----------------------------------------------------------------------
KEY = b"k" * 32


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


@st.composite
def store_files(draw):
    kind = draw(st.sampled_from(["junk", "framed", "mutated"]))
    if kind == "junk":
        return draw(st.binary(max_size=300))
    record = _dumps(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=4)))
    declared = draw(st.one_of(st.just(len(record)), st.integers(0, 20000)))
    tag = draw(st.one_of(st.just(b"0" * 64), st.binary(min_size=64, max_size=64)))
    if kind == "framed":
        return b"DFTS1 " + str(declared).encode() + b"\n" + record + b"\n" + tag + b"\n"
    return None  # mutate a genuine file, below


@fuzz("store")
@given(store_files(), st.integers(0, 10 ** 6), st.binary(min_size=0, max_size=4), st.booleans())
def test_token_store_load_never_raises_on_any_file(store_dir, data, pos, patch, cut):
    path = str(store_dir / "tokens.json")
    store = TokenStore(path, KEY)
    record = {"access_token": "at", "refresh_token": "rt", "n": 1}
    if data is None:  # a genuine file with bytes changed or cut
        store.save(record)
        with open(path, "rb") as f:
            good = f.read()
        i = pos % (len(good) + 1)
        data = good[:i] if cut else good[:i] + patch + good[i + len(patch):]
    with open(path, "wb") as f:
        f.write(data)
    out = store.load()
    if out is None:
        assert store.last_error in ("truncated", "tampered", "corrupt"), store.last_error
    else:
        assert isinstance(out, dict) and store.last_error is None
        if data.startswith(b"DFTS1 ") and out != record:
            # accepted content other than what we wrote needs the key's tag: only junk framing
            # carrying a valid tag could, and random bytes never forge HMAC-SHA256
            raise AssertionError("store accepted a record it did not write: %r" % (out,))


# ---- the transport's response head, from a real peer on 127.0.0.1 ------------------------------
@pytest.fixture(scope="module")
def head_peer():
    from http_peer import Peer
    from deviceflow.http import Transport
    peer = Peer().start()
    Transport().request("GET", peer.url("/", host="127.0.0.1"))  # first-use allocations, not measured
    yield peer
    peer.stop()


_TINY = b"0123456789abcdefghijklmnopqrstuvwxyz"
MAX_HEADERS = 64  # deviceflow.http.MAX_HEADERS
status_lines = st.one_of(st.sampled_from([b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.\xff 200 OK",
                                          b"HTTP/1.1 2\xd9\xa0 OK", b"HTTP/1.1 \xef\xbc\x92\xef\xbc\x90\xef\xbc\x90",
                                          b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", b"HTTP/2 200", b"\xff\xfe"]),
                         st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")))
content_lengths = st.sampled_from(["2", "02", " 2", "\u0662", "\uff12", "\u00b2", "\u2082", "-2", "2, 2", "", "1e1",
                                   "99999999999999999999"])


@st.composite
def response_heads(draw):
    """A status line, then a flood of tiny headers (up to 3,000), odd bytes, and a Content-Length
    that may hold non-ASCII digits."""
    n = draw(st.one_of(st.integers(0, 70), st.integers(0, 3000)))
    lines = [_TINY[i % 36:i % 36 + 1] + _TINY[(i // 36) % 36:(i // 36) % 36 + 1] + b":" for i in range(n)]
    for _ in range(draw(st.integers(0, 3))):
        odd = draw(st.binary(min_size=1, max_size=12)).replace(b"\n", b"") or b"\xff"
        lines.insert(draw(st.integers(0, len(lines))), odd)
    if draw(st.booleans()):
        lines.append(b"Content-Length: " + draw(content_lengths).encode())
    return n, draw(status_lines) + b"\r\n" + b"".join(line + b"\r\n" for line in lines) + b"\r\nok"


@fuzz("http_head")
@given(response_heads())
def test_a_response_head_gives_a_response_or_a_transport_error_with_at_most_64_headers(head_peer, head):
    from deviceflow.http import Transport
    from deviceflow.errors import TransportError
    from http_peer import raw

    n, data = head
    head_peer.script.append(raw(data))
    t = Transport(timeout_ms=5000)
    try:
        r = t.request("GET", head_peer.url("/", host="127.0.0.1"))
    except TransportError as e:
        assert e.reason in ("bad_response", "too_large"), e.reason
        r = None
    finally:
        t.close()
    # At most 64 entries, however many lines came: what a head costs in heap is bounded (the
    # MicroPython small-heap case is in tests/test_http.py).
    assert r is None or (isinstance(r.status, int) and len(r.headers) <= MAX_HEADERS)
    if n > MAX_HEADERS:
        assert r is None


# ---- huge tick spans (issue 13 item 2) -------------------------------------------------------
# ManualClock raises OverflowError on a tick span of 2^29 ms or more, as MicroPython's ticks_add
# does on an ESP32. A session fed any lifetime, any time unplugged and any wait between looks
# must neither raise nor misjudge: the access token is valid exactly while its time is not up.
EXAMPLES["spans"] = 600


@fuzz("spans")
@given(st.integers(0, TICKS_PERIOD - 1), st.integers(1, 10 ** 9), st.integers(-10 ** 10, 10 ** 9),
       st.booleans(), st.lists(st.integers(0, 4 * 86400 * 1000), min_size=1, max_size=12),
       st.sampled_from([0.0, 0.5, 0.999]))
def test_session_spans_of_any_length(start, expires_in, wall_shift, fresh, steps, r):
    if os.path.join(ROOT, "firmware") not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, "firmware"))
    from deviceflow.session import Session, make_record

    t0 = 1800000000
    clock = ManualClock(start=start, wall=t0 + (0 if fresh else wall_shift))
    rec = make_record({"access_token": "at", "token_type": "Bearer", "refresh_token": "rt",
                       "expires_in": expires_in}, t0)
    s = Session(clock, lambda: r, margin_s=60, window_s=600, spread_s=300)
    s.adopt(rec, fresh, clock.ticks_ms())
    left = expires_in * 1000 - (0 if fresh else wall_shift * 1000)
    for dt in steps:
        now = clock.ticks_ms()
        assert s.access_valid(now) == (left > 0), (left, dt)
        if left <= 0:
            s.refresh_due(now)  # due now or within the boot spread, never an exception
        clock.advance(dt)
        left -= dt


@fuzz("spans")
@given(st.integers(0, TICKS_PERIOD - 1), st.integers(0, 10 ** 12), st.integers(6, 10 ** 7))
def test_retry_after_of_any_size_on_pending_never_overflows(start, retry_after_s, expires_in):
    clock = ManualClock(start=start)
    flow = DeviceFlow(clock, "cid", "https://t.example.com/dev", "https://t.example.com/tok")
    flow.start(clock.now)
    code = {"device_code": DEVICE_CODE, "user_code": "WDJB-MJHT", "expires_in": expires_in,
            "verification_uri": "https://t.example.com/activate", "interval": 5}
    flow.on_response(clock.now, 200, {"content-type": "application/json"}, json.dumps(code).encode())
    clock.advance(5000)
    assert flow.next_action(clock.now).kind == "send"
    a = flow.on_response(clock.now, 400, {"content-type": "application/json", "retry-after": str(retry_after_s)},
                         b'{"error": "authorization_pending"}')
    assert a.kind in ("wait", "failed")
    if a.kind == "wait":
        waited = clock.ticks_diff(a.until, clock.now)
        assert 0 <= waited <= MAX_SPAN_MS
