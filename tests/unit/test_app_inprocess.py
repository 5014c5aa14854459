# The whole app in-process (issue 15): a real App built as firmware/startup.py builds it (config,
# device key, FlashStore in a temp folder, Display, Log, Rng, UnixPlatform), driven step by step
# on a ManualClock that sleeps exactly the wait each step asks for. The only fake is the network
# peer: a scripted provider that answers each request with the next reply of its script, checks
# it is the request it expected, and records what it got and when.
import json

from check import tmpdir
from test_screen import Recorder, code_scale
import jwt_fixtures

from deviceflow.clock import TICKS_PERIOD
from deviceflow.manualclock import ManualClock
from deviceflow.form import urldecode
from deviceflow.http import Response
from deviceflow.store import load_or_create_key
import config
from app import App
from display import Display
from deviceflow.flashstore import FlashStore
from log import Log
from platform_unix import UnixPlatform
from rng import Rng

T0 = 1800000000  # wall clock at the first boot (Unix seconds)
BASE = "http://127.0.0.1:8765"  # loopback plain http: nothing here needs TLS
DEVICE_URL = BASE + "/oauth/device/code"
TOKEN_URL = BASE + "/oauth/token"
API_URL = BASE + "/api/hello"
USER_CODE = "WDJB-MJHT"
DEVICE_CODE = "dc-Secret-Device-Code-0042"
AT1, RT1 = "at-First-Access-0001", "rt-First-Refresh-0001"
AT2, RT2 = "at-Second-Access-0002", "rt-Second-Refresh-0002"
SECRETS = (DEVICE_CODE, AT1, RT1, AT2, RT2)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class OffScript(BaseException):
    """A request the script did not expect. A BaseException, so App.step's `except Exception`
    (a board must never crash-loop) does not swallow it; Device.run turns it into a failure."""


class ScriptedProvider:
    """The network peer. `script`: (method, url, status, reply dict) in the expected order."""

    def __init__(self, clock, script):
        self.clock = clock
        self.script = list(script)
        self.requests = []
        self.watch = None  # called at each request; what it returns is kept with the request

    def request(self, method, url, headers=None, body=None, sink=None):
        got = {"at": self.clock.ticks_ms(), "method": method, "url": url, "headers": headers or {},
               "form": urldecode(body) if body else {}}
        got["seen"] = self.watch() if self.watch else None
        self.requests.append(got)
        if not self.script:
            raise OffScript("unexpected %s %s" % (method, url))
        want_method, want_url, status, reply = self.script.pop(0)
        if (method, url) != (want_method, want_url):
            raise OffScript("got %s %s, expected %s %s" % (method, url, want_method, want_url))
        data = json.dumps(reply).encode()
        if sink is not None:  # the JWKS prefetch streams the body into a file (deviceflow/keys.py)
            sink.write(data)
            data = b""
        return Response(status, {"content-type": "application/json"}, data)

    def to(self, url):
        return [r for r in self.requests if r["url"] == url]


class Lines:
    """The log's stream: keeps every line the firmware's Log writes."""

    def __init__(self):
        self.lines = []

    def write(self, s):
        self.lines.append(s)

    def events(self, name):
        return [ln for ln in self.lines if ln.startswith("event=" + name + " ") or ln == "event=" + name + "\n"]

    def text(self):
        return "".join(self.lines)


class Device:
    """One boot of the device: the app and what it was built with, over the folder `d`."""

    def __init__(self, d, clock, script, seed=7, **cfg):
        self.d = d
        self.clock = clock
        self.peer = ScriptedProvider(clock, script)
        self.log_lines = Lines()
        log = Log(self.log_lines)
        raw = {
            "issuer": BASE, "client_id": "cid-inprocess", "provider": "generic", "scope": "offline_access",
            "api_url": API_URL, "device_authorization_endpoint": DEVICE_URL, "token_endpoint": TOKEN_URL,
            "state_dir": d, "api_interval_s": 60, "api_spread_s": 0, "refresh_spread_s": 0}
        raw.update(cfg)
        self.cfg = config.validate(raw)
        platform = UnixPlatform()
        key = load_or_create_key(d + "/device.key", platform.urandom)
        self.surface = Recorder(128, 64)
        self.display = Display(self.surface, clock, log)
        self.app = App(self.cfg, clock, self.peer, FlashStore(d + "/tokens.json", key), self.display, log,
                       Rng(seed), platform)

    def stored(self):
        """The token record on flash now, read as the next boot would."""
        return FlashStore(self.d + "/tokens.json", load_or_create_key(self.d + "/device.key")).load()

    def run(self, seconds, until=None):
        """The main loop: step, sleep what the step asked for. True once until() holds."""
        left = seconds * 1000
        for _ in range(200000):
            if until is not None and until():
                return True
            if left <= 0:
                return False
            try:
                wait = self.app.step()
            except OffScript as e:  # a plain failure for the runner, which catches Exception only
                raise AssertionError("%s (state %s)" % (e.args[0], self.app.state))
            self.clock.advance(wait)
            left -= wait
        raise AssertionError("the app never waits (state %s)" % self.app.state)


def _code_reply(expires_in=900, interval=5):
    return {"device_code": DEVICE_CODE, "user_code": USER_CODE, "verification_uri": BASE + "/activate",
            "verification_uri_complete": BASE + "/activate?user_code=" + USER_CODE,
            "expires_in": expires_in, "interval": interval}


def _tokens(at, rt):
    return {"access_token": at, "token_type": "Bearer", "expires_in": 3600, "refresh_token": rt,
            "scope": "offline_access"}


def _error(code):
    return (400, {"error": code})


def _poll(reply):
    return ("POST", TOKEN_URL) + reply


DEVICE = ("POST", DEVICE_URL, 200, _code_reply())
API_OK = ("GET", API_URL, 200, {"hello": "world"})
PENDING = _poll(_error("authorization_pending"))
SLOW_DOWN = _poll(_error("slow_down"))
APPROVED = _poll((200, _tokens(AT1, RT1)))


def _gaps(dev, requests):
    return [dev.clock.ticks_diff(b["at"], a["at"]) for a, b in zip(requests, requests[1:])]


def _signed_in(dev):
    return dev.app.api_calls >= 1


def _sign_in(start_ticks, script=(DEVICE, PENDING, PENDING, SLOW_DOWN, PENDING, APPROVED, API_OK)):
    """A first boot that signs in; what the screen showed at each poll is kept with the poll."""
    dev = Device(tmpdir(), ManualClock(start_ticks, wall=T0), script)
    dev.peer.watch = lambda: (dev.display.current, code_scale(dev.surface, USER_CODE),
                              DEVICE_CODE in dev.surface.all_text(), dev.stored())
    assert dev.run(600, until=lambda: _signed_in(dev)), (dev.app.state, dev.peer.requests[-1:])
    assert dev.peer.script == []
    return dev


def _check_sign_in(dev):
    reqs = dev.peer.requests
    device, polls, api = reqs[0], dev.peer.to(TOKEN_URL), dev.peer.to(API_URL)
    assert [r["url"] for r in reqs] == [DEVICE_URL] + [TOKEN_URL] * 5 + [API_URL], [r["url"] for r in reqs]
    assert device["form"] == {"client_id": "cid-inprocess", "scope": "offline_access"}, device["form"]
    for p in polls:
        assert p["form"] == {"grant_type": DEVICE_GRANT, "device_code": DEVICE_CODE,
                             "client_id": "cid-inprocess"}, p["form"]
    # interval 5 s from the code reply; the third poll's slow_down adds 5 s for good (RFC 8628 3.5)
    assert _gaps(dev, [device] + polls) == [5000, 5000, 5000, 10000, 10000], _gaps(dev, [device] + polls)
    # while polling: the user code big on screen, the device code nowhere on it, nothing stored
    for p in polls:
        current, scale, device_code_shown, stored = p["seen"]
        assert current == ("code", USER_CODE), current
        assert scale >= 2 and not device_code_shown, (scale, device_code_shown)
        assert stored is None
    # the tokens reached flash before the API saw the access token
    stored = api[0]["seen"][3]
    assert stored and stored["access_token"] == AT1 and stored["refresh_token"] == RT1, stored
    assert api[0]["headers"].get("Authorization") == "Bearer " + AT1, api[0]["headers"]
    assert dev.display.current[0] == "success", dev.display.current
    # the log names the user code, never the device code or a token
    shown = dev.log_lines.events("show_code")
    assert len(shown) == 1 and "user_code=" + USER_CODE in shown[0], shown
    assert dev.log_lines.events("tokens_stored") and dev.log_lines.events("api_ok")
    text = dev.log_lines.text()
    for secret in SECRETS:
        assert secret not in text, secret


def test_sign_in_shows_the_code_polls_at_the_interval_slows_down_and_calls_the_api():
    _check_sign_in(_sign_in(1000))


def test_polling_across_the_tick_wrap_keeps_the_interval():
    # ticks wrap at 2^30 (an ESP32) between the second poll (slow_down) and the third
    dev = _sign_in(TICKS_PERIOD - 12000)
    _check_sign_in(dev)
    at = [r["at"] for r in dev.peer.to(TOKEN_URL)]
    assert at[1] > TICKS_PERIOD - 3000 and at[2] < 10000, at  # the counter did wrap in between


def _reboot(first, wall_later_s, script):
    """The same device folder after a power cycle: fresh ticks, a new app, the flash kept."""
    return Device(first.d, ManualClock(5000, wall=T0 + wall_later_s), script, seed=11)


def test_reboot_with_a_valid_token_calls_the_api_without_a_token_request():
    first = _sign_in(1000, (DEVICE, APPROVED, API_OK))
    dev = _reboot(first, 600, [API_OK])
    assert dev.run(120, until=lambda: _signed_in(dev)), (dev.app.state, dev.peer.requests)
    assert [r["url"] for r in dev.peer.requests] == [API_URL]
    assert dev.peer.requests[0]["headers"].get("Authorization") == "Bearer " + AT1
    assert dev.log_lines.events("tokens_loaded") and not dev.log_lines.events("tokens_stored")
    assert dev.display.current[0] == "success"


def test_reboot_with_an_expired_token_refreshes_and_stores_the_rotated_token_before_the_api():
    first = _sign_in(1000, (DEVICE, APPROVED, API_OK))
    dev = _reboot(first, 2 * 3600, [_poll((200, _tokens(AT2, RT2))), API_OK])
    dev.peer.watch = dev.stored
    assert dev.run(120, until=lambda: _signed_in(dev)), (dev.app.state, dev.peer.requests)
    refresh, api = dev.peer.requests
    assert refresh["url"] == TOKEN_URL and api["url"] == API_URL
    assert refresh["form"] == {"grant_type": "refresh_token", "refresh_token": RT1,
                               "client_id": "cid-inprocess"}, refresh["form"]
    assert api["seen"]["refresh_token"] == RT2 and api["seen"]["access_token"] == AT2, api["seen"]
    assert api["headers"].get("Authorization") == "Bearer " + AT2
    assert len(dev.log_lines.events("refreshed")) == 1 and "rotated=1" in dev.log_lines.events("refreshed")[0]
    text = dev.log_lines.text()
    for secret in SECRETS:
        assert secret not in text, secret


def _ends_on(script, screen, reason, polls):
    """A sign-in that fails: `screen` stays up, the device asks nothing more, nothing is stored."""
    dev = Device(tmpdir(), ManualClock(1000, wall=T0), script)
    assert dev.run(600, until=lambda: dev.app.state == "halted"), (dev.app.state, dev.peer.requests)
    assert dev.run(3 * 3600) is False  # an OffScript request would have ended the run
    assert dev.app.state == "halted" and dev.peer.script == []
    assert len(dev.peer.to(TOKEN_URL)) == polls, dev.peer.requests
    assert dev.display.current[0] == screen, dev.display.current
    assert not dev.display.code_shown
    assert dev.stored() is None and dev.app.session.record is None
    errors = dev.log_lines.events("error")
    assert len(errors) == 1 and "reason=" + reason in errors[0], errors
    assert not dev.log_lines.events("tokens_stored")
    return dev


def test_access_denied_ends_on_the_denied_screen_with_no_tokens():
    dev = _ends_on([DEVICE, PENDING, _poll(_error("access_denied"))], "denied", "access_denied", 2)
    assert "denied" in dev.surface.all_text()


def test_expired_token_from_the_provider_ends_on_the_expired_screen_with_no_tokens():
    _ends_on([DEVICE, PENDING, _poll(_error("expired_token"))], "expired", "expired_token", 2)


def test_code_that_runs_out_while_pending_ends_on_the_expired_screen_without_another_poll():
    # expires_in 17 s, interval 5 s: polls at 5, 10 and 15 s; at 17 s the code is gone
    dev = _ends_on([("POST", DEVICE_URL, 200, _code_reply(expires_in=17)), PENDING, PENDING, PENDING],
                   "expired", "expired_token", 3)
    assert _gaps(dev, dev.peer.requests) == [5000, 5000, 5000]


def _openid_sign_in(id_token):
    """A sign-in with `openid`: the JWKS (scripted, the test keys of jwt_fixtures) is fetched
    while the code is shown, and the ID token is checked against it when the tokens arrive."""
    jwks_url = BASE + "/jwks"
    tokens = _tokens(AT1, RT1)
    tokens["id_token"] = id_token
    script = [DEVICE, ("GET", jwks_url, 200, json.loads(jwt_fixtures.JWKS_JSON)), PENDING,
              _poll((200, tokens)), API_OK]
    dev = Device(tmpdir(), ManualClock(1000, wall=jwt_fixtures.NOW), script, issuer=jwt_fixtures.ISSUER,
                 client_id=jwt_fixtures.CLIENT_ID, scope="openid offline_access", jwks_uri=jwks_url)
    done = dev.run(600, until=lambda: _signed_in(dev) or dev.app.state == "halted")
    assert done, (dev.app.state, dev.peer.requests[-1:])
    assert [r["url"] for r in dev.peer.requests[:3]] == [DEVICE_URL, jwks_url, TOKEN_URL]
    assert dev.peer.requests[0]["form"]["scope"] == "openid offline_access"
    assert id_token.split(".")[2] not in dev.log_lines.text()
    return dev, dev.peer.script


def test_openid_sign_in_checks_the_id_token_against_the_jwks_and_greets_the_user():
    dev, script = _openid_sign_in(jwt_fixtures.TOKENS["valid"])
    assert script == [] and dev.app.state == "idle"
    assert len(dev.log_lines.events("id_token_ok")) == 1
    stored = dev.stored()
    assert stored["name"] == "Ada" and stored["sub"] == "auth0|user42" and "id_token" not in stored, stored
    assert dev.display.current == ("success", "Ada"), dev.display.current
    assert dev.peer.to(API_URL)[0]["headers"].get("Authorization") == "Bearer " + AT1


def test_openid_sign_in_with_a_forged_id_token_stores_nothing_and_calls_no_api():
    dev, script = _openid_sign_in(jwt_fixtures.TOKENS["tampered_signature"])
    assert script == [API_OK] and dev.app.state == "halted"
    assert dev.stored() is None and dev.app.session.record is None
    assert dev.display.current[0] == "error" and "Sign-in rejected" in dev.display.current[1], dev.display.current
    assert [e for e in dev.log_lines.events("error") if "reason=id_token_" in e]
