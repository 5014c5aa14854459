# deviceflow.client.DeviceClient against a scripted network peer (in process) and the manual
# clock: sign-in, slow_down, 401 -> refresh -> retry, rotation on flash before use, sign-out,
# and step() doing at most one exchange and never sleeping.
import json

import jwt_fixtures as F
from check import raises, tmpdir

from deviceflow.client import DeviceClient
from deviceflow.manualclock import ManualClock
from deviceflow.errors import DeviceFlowError, TokenError
from deviceflow.form import urldecode

BASE = "https://example-tenant.us.auth0.com"
API = "https://api.example.com/reading"
DEVICE_CODE = "DC-secret-device-code-0001"
JSON = {"content-type": "application/json"}


class Reply:
    def __init__(self, status, obj=None):
        self.status = status
        self.headers = JSON
        self.body = json.dumps(obj).encode() if obj is not None else b""


class OffScript(BaseException):
    pass


JWKS = Reply(200, json.loads(F.JWKS_JSON))


class Peer:
    """The network: each request takes the next scripted reply (a Reply, or a function of the
    request returning one), and is recorded with the manual clock's time."""

    def __init__(self, clock, *replies):
        self.clock = clock
        self.replies = list(replies)
        self.sent = []

    def request(self, method, url, headers=None, body=None, sink=None):
        self.sent.append((self.clock.ticks_ms(), method, url, headers or {}, body))
        if not self.replies:  # a BaseException: the client's retry-on-anything must not hide it
            raise OffScript("no reply scripted for %s %s" % (method, url))
        reply = self.replies.pop(0)
        reply = reply if isinstance(reply, Reply) else reply(method, url, headers, body)
        if sink is not None:  # the JWKS prefetch streams the body into a file (deviceflow/keys.py)
            sink.write(reply.body)
            reply = Reply(reply.status)
        return reply

    def urls(self):
        return [s[2] for s in self.sent]


def code_reply(interval=5):
    return Reply(200, {"device_code": DEVICE_CODE, "user_code": "WDJB-MJHT", "expires_in": 900,
                       "verification_uri": BASE + "/activate", "interval": interval,
                       "verification_uri_complete": BASE + "/activate?user_code=WDJB-MJHT"})


def tokens(n, id_token=True, rotate=True):
    t = {"access_token": "AT-%d" % n, "token_type": "Bearer", "expires_in": 3600}
    if rotate:
        t["refresh_token"] = "RT-%d" % n
    if id_token:
        t["id_token"] = F.TOKENS["valid"]
    return Reply(200, t)


def pending(error="authorization_pending"):
    return Reply(400, {"error": error})


def client(peer, state=None, scope="openid offline_access", **kw):
    events = []
    cfg = {"issuer": F.ISSUER, "client_id": F.CLIENT_ID, "audience": "https://api.example.com/",
           "scope": scope, "device_authorization_endpoint": BASE + "/oauth/device/code",
           "token_endpoint": BASE + "/oauth/token", "jwks_uri": BASE + "/.well-known/jwks.json",
           "revocation_endpoint": BASE + "/oauth/revoke"}
    c = DeviceClient(cfg, clock=peer.clock, transport=peer, state_dir=state or tmpdir(),
                     show=lambda code: events.append(("show", code.user_code)),
                     on_event=lambda event, **f: events.append((event, f)), **kw)
    return c, events


def signed_in(scope="offline_access"):
    """A client that signed in (no ID token unless asked), and its peer for what comes next."""
    peer = Peer(ManualClock(wall=F.NOW), code_reply(), tokens(1, id_token=False))
    c, events = client(peer, scope=scope)
    assert c.token() == "AT-1"
    return c, peer, events


def test_sign_in_shows_the_code_checks_the_id_token_and_stores_the_tokens():
    clock = ManualClock(wall=F.NOW)
    peer = Peer(clock, code_reply(), JWKS, pending(), tokens(1))
    state = tmpdir()
    c, events = client(peer, state)
    assert c.token() == "AT-1"
    # The signing keys are fetched while the code is on screen (the first poll waits anyway).
    assert peer.urls() == [BASE + "/oauth/device/code", BASE + "/.well-known/jwks.json",
                           BASE + "/oauth/token", BASE + "/oauth/token"]
    assert ("show", "WDJB-MJHT") in events
    names = [e[0] for e in events if e[0] != "error"]
    assert names == ["no_tokens", "profile", "show_code", "show", "jwks_fetched", "approved", "id_token_ok",
                     "tokens_stored", "signed_in"], events
    assert events[-1] == ("signed_in", {"sub": "auth0|user42"})
    for _, fields in events:
        for v in (fields.values() if isinstance(fields, dict) else [fields]):  # no event carries the device code or a token
            assert DEVICE_CODE not in str(v) and "AT-1" not in str(v) and "RT-1" not in str(v)
    # A second object on the same folder (the next boot) has the token with no exchange at all.
    again = Peer(clock)
    c2, _ = client(again, state)
    assert c2.token() == "AT-1" and again.sent == []


def test_slow_down_adds_five_seconds_to_the_poll_interval():
    clock = ManualClock(wall=F.NOW)
    peer = Peer(clock, code_reply(interval=5), pending("slow_down"), pending(), tokens(1, id_token=False))
    c, _ = client(peer, scope="offline_access")
    assert c.token() == "AT-1"
    times = [s[0] for s in peer.sent]
    assert times[2] - times[1] == 10000 and times[3] - times[2] == 10000
    assert urldecode(peer.sent[1][4])["device_code"] == DEVICE_CODE


def test_a_declined_sign_in_raises_with_the_reason():
    peer = Peer(ManualClock(wall=F.NOW), code_reply(), JWKS, pending("access_denied"))
    c, events = client(peer)
    e = raises(DeviceFlowError, c.token)
    assert e.reason == "access_denied"
    assert events[-1][0] == "error" and events[-1][1]["reason"] == "access_denied"


def test_an_id_token_that_fails_its_signature_is_never_stored():
    clock = ManualClock(wall=F.NOW)
    bad = Reply(200, {"access_token": "AT-1", "token_type": "Bearer", "expires_in": 3600,
                      "refresh_token": "RT-1", "id_token": F.TOKENS["tampered_signature"]})
    peer = Peer(clock, code_reply(), JWKS, bad)
    state = tmpdir()
    c, _ = client(peer, state)
    assert raises(TokenError, c.token).reason == "signature"
    assert not c.signed_in
    assert c.session.store.load() is None


def test_401_refreshes_and_retries_once_with_the_rotated_token_already_on_flash():
    c, peer, events = signed_in()

    def api_checks_flash(method, url, headers, body):
        rec = c.session.store.load()
        assert rec["refresh_token"] == "RT-2" and rec["access_token"] == "AT-2"  # saved before use
        assert headers["Authorization"] == "Bearer AT-2"
        return Reply(200, {"ok": True})

    peer.replies = [Reply(401, {"error": "invalid_token"}), tokens(2, id_token=False), api_checks_flash]
    r = c.request("POST", API, {"Content-Type": "application/json"}, b'{"t": 21}')
    assert r.status == 200
    assert peer.urls()[-3:] == [API, BASE + "/oauth/token", API]
    assert peer.sent[-3][3]["Authorization"] == "Bearer AT-1"
    refresh = urldecode(peer.sent[-2][4])
    assert refresh["grant_type"] == "refresh_token" and refresh["refresh_token"] == "RT-1"
    assert ("refreshed", {"rotated": 1}) in events


def test_a_second_401_is_returned_not_retried_again():
    c, peer, _ = signed_in()
    peer.replies = [Reply(401), tokens(2, id_token=False), Reply(401)]
    assert c.request("GET", API).status == 401
    assert peer.urls()[-3:] == [API, BASE + "/oauth/token", API]


def test_an_expired_token_is_refreshed_before_the_call():
    c, peer, _ = signed_in()
    peer.clock.advance(3600 * 1000)
    peer.replies = [tokens(2, id_token=False), Reply(200, {})]
    assert c.request("GET", API).status == 200
    assert peer.urls()[-2:] == [BASE + "/oauth/token", API]
    assert peer.sent[-1][3]["Authorization"] == "Bearer AT-2"


def test_sign_out_revokes_the_refresh_token_and_wipes_the_store():
    c, peer, events = signed_in()
    peer.replies = [Reply(200)]
    c.sign_out()
    assert peer.urls()[-1] == BASE + "/oauth/revoke"
    form = urldecode(peer.sent[-1][4])
    assert form["token"] == "RT-1" and form["token_type_hint"] == "refresh_token"
    assert c.session.store.load() is None
    assert [e[0] for e in events[-2:]] == ["revoked", "signed_out"] and not c.signed_in
    # The next token() signs in again.
    peer.replies = [code_reply(), tokens(3, id_token=False)]
    assert c.token() == "AT-3"


def test_step_does_at_most_one_exchange_and_never_sleeps():
    clock = ManualClock(wall=F.NOW)
    peer = Peer(clock, code_reply(interval=5), JWKS, pending(), tokens(1))
    c, _ = client(peer)
    waits = []
    for _ in range(40):
        before, t = len(peer.sent), clock.now
        wait = c.step()
        assert len(peer.sent) - before <= 1 and clock.now == t  # one exchange at most, no sleep
        waits.append(wait)
        if c.signed_in:
            break
        if wait:
            sent = len(peer.sent)
            assert c.step() == wait and len(peer.sent) == sent  # not due yet: nothing sent
            clock.advance(wait)
    assert c.signed_in and len(peer.sent) == 4
    assert 5000 in waits  # the poll interval, returned rather than slept
    assert c.step() > 3000 * 1000  # signed in: nothing to do until the refresh is due


def test_tokens_stored_for_another_audience_are_discarded_not_sent():
    c, peer, _ = signed_in()
    other, events = client(Peer(peer.clock), c.cfg["state_dir"], scope="offline_access",
                           audience="https://other-api.example.com/")
    assert not other.signed_in
    assert ("state_discarded", {"what": "tokens", "reason": "audience"}) in events
    assert c.session.store.load() is None


def test_without_show_the_code_screen_is_drawn_on_the_surface():
    from test_screen import Recorder, code_scale

    clock = ManualClock(wall=F.NOW)
    peer = Peer(clock, code_reply(), tokens(1, id_token=False))
    shown = Recorder(128, 64)
    c = DeviceClient(issuer=F.ISSUER, client_id=F.CLIENT_ID, scope="offline_access", clock=clock,
                     transport=peer, state_dir=tmpdir(), surface=shown,
                     device_authorization_endpoint=BASE + "/oauth/device/code", token_endpoint=BASE + "/oauth/token")
    assert c.token() == "AT-1"
    assert shown.painted() and not shown.outside
    assert code_scale(shown, "WDJB-MJHT") >= 1  # the user code, drawn big
    assert DEVICE_CODE not in shown.all_text()


def test_token_async_lets_other_tasks_run_while_it_waits_to_poll():
    import asyncio

    from deviceflow.clock import SystemClock

    peer = Peer(SystemClock(), code_reply(interval=1), pending(), tokens(1, id_token=False))
    c, events = client(peer, scope="offline_access")
    ticks = []

    async def blink():
        while True:
            ticks.append(len(peer.sent))  # how far the sign-in had got at each blink
            await asyncio.sleep(0.05)

    async def main():
        task = asyncio.create_task(blink())
        token = await c.token_async()
        task.cancel()
        return token

    assert asyncio.run(main()) == "AT-1"
    assert len(peer.sent) == 3
    assert ticks.count(1) >= 5 and ticks.count(2) >= 5  # it blinked through both 1 s waits
