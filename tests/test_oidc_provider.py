"""Conformance against a real, independent provider: node oidc-provider (tools/oidc_provider).

The device side is our library on the MicroPython Unix port (discovery, DeviceFlow, RefreshGrant,
Transport, JWKS + validate_id_token, the system clock), run as a subprocess; the user side is
tools/oidc_user.py driving the provider's own HTML pages over HTTP. Nothing is faked: the only
peer is the provider on 127.0.0.1. If the provider cannot start, the tests fail (never skip).

Each test is one sign-in: approve (then id_token, userinfo, refresh with rotation, revocation),
abort (access_denied), and a code that expires on the server (expired_token). The provider sends
no `interval`, so every poll waits the RFC 8628 default of 5 s; each test polls at most twice.
"""
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import oidc_user  # noqa: E402
from oidcctl import start_provider  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
DEVICE_TIMEOUT = 40  # seconds for one device process; a flow takes 6-11 s
SHORT_TTL = 7  # device code lifetime of the short client, seconds
SLOW_DEVICE_MS = 4000  # the expiry test's device takes this long to handle the code reply

# The device: our library, exactly as the firmware uses it, printing one `key=value` line per
# step. It never prints a token or device code (only whether they are present / differ).
DEVICE_SCRIPT = r"""
import sys, json
from deviceflow.clock import SystemClock
from deviceflow.http import Transport
from deviceflow import discovery, providers
from deviceflow.flow import DeviceFlow
from deviceflow.actions import ShowCode, Wait, Send, TokensReady, Failed
from deviceflow.refresh import RefreshGrant
from deviceflow.jwt import JWKS, validate_id_token
from deviceflow.errors import TokenError
from deviceflow.form import urlencode

mode, issuer, client_id = sys.argv[1], sys.argv[2], sys.argv[3]
slow_ms = int(sys.argv[4])
clock = SystemClock()
http = Transport()
JSON = {"Accept": "application/json"}

def say(*parts):
    print(" ".join([str(p) for p in parts]))

def error_of(body):
    try:
        return json.loads(body).get("error")
    except Exception:
        return None

profile = providers.profile_for("auto", issuer)
say("profile name=%s needs_discovery=%s" % (profile.name, discovery.needs_discovery(profile, {})))
r = http.request("GET", discovery.discovery_url(issuer), JSON, None)
doc = discovery.parse_discovery(r.body, issuer)
ep = discovery.merge_endpoints(doc, {})
say("discovery status=%d issuer=%s device=%s token=%s jwks=%s userinfo=%s revocation=%s" % (
    r.status, doc["issuer"], ep["device_authorization_endpoint"], ep["token_endpoint"],
    ep.get("jwks_uri"), ep.get("userinfo_endpoint"), ep.get("revocation_endpoint")))
cache_path = sys.argv[5] + "/discovery.json"
from deviceflow.store import TokenStore
cache = discovery.DiscoveryCache(TokenStore(cache_path, b"k" * 32), {"issuer": issuer, "client_id": client_id})
cache.save(doc)
say("discovery_cache same=%s" % (cache.load(issuer) == doc))

flow = DeviceFlow(clock, client_id, ep["device_authorization_endpoint"], ep["token_endpoint"],
                  scope=profile.scope({}), extra_params=profile.device_params({}) or None)
action = flow.start(clock.ticks_ms())
polls = 0
while True:
    if isinstance(action, Send):
        r = http.request(action.method, action.url, action.headers, action.body)
        if polls == 0 and flow.state == "requesting_code":
            reply = json.loads(r.body)
            say("device_reply status=%d interval=%s complete=%s" % (
                r.status, "present" if "interval" in reply else "absent",
                "present" if reply.get("verification_uri_complete") else "absent"))
            reply = None
            if slow_ms:
                clock.sleep_ms(slow_ms)  # a slow device: the server's clock started earlier
        else:
            polls += 1
            say("poll n=%d status=%d error=%s" % (polls, r.status, error_of(r.body)))
        t = clock.ticks_ms()
        action = flow.on_response(t, r.status, r.headers, r.body)
        if isinstance(action, ShowCode):
            say("show_code user_code=%s verification_uri=%s expires_in=%d" % (
                action.user_code, action.verification_uri, action.expires_in))
            action = flow.next_action(t)
        if isinstance(action, Wait):
            say("wait ms=%d reason=%s" % (clock.ticks_diff(action.until, t), action.reason))
        continue
    if isinstance(action, Wait):
        clock.sleep_ms(clock.ticks_diff(action.until, clock.ticks_ms()))
        action = flow.next_action(clock.ticks_ms())
        continue
    break

if isinstance(action, Failed):
    say("failed reason=%s polls=%d" % (action.reason, polls))
    sys.exit(0)

tokens = action.tokens
say("tokens access=%s id_token=%s refresh=%s token_type=%s scope=%s" % (
    bool(tokens["access_token"]), bool(tokens["id_token"]), bool(tokens["refresh_token"]),
    tokens["token_type"], (tokens["scope"] or "").replace(" ", "+")))

r = http.request("GET", ep["jwks_uri"], JSON, None)
jwks = JWKS.parse(r.body)
claims = validate_id_token(tokens["id_token"], jwks, doc["issuer"], client_id, clock.time())
say("id_token valid=True sub=%s aud=%s iss_is_issuer=%s keys=%d" % (
    claims["sub"], claims["aud"], claims["iss"] == doc["issuer"], len(jwks)))
try:
    validate_id_token(tokens["id_token"], jwks, doc["issuer"], "another-client", clock.time())
    say("id_token other_client=accepted")
except TokenError as e:
    say("id_token other_client=%s" % e.reason)
try:
    validate_id_token(tokens["id_token"], jwks, doc["issuer"] + "/x", client_id, clock.time())
    say("id_token other_issuer=accepted")
except TokenError as e:
    say("id_token other_issuer=%s" % e.reason)

def userinfo(access_token):
    h = {"Authorization": "Bearer " + access_token, "Accept": "application/json"}
    return http.request("GET", ep["userinfo_endpoint"], h, None)

r = userinfo(tokens["access_token"])
info = json.loads(r.body)
say("userinfo status=%d sub=%s name=%s" % (r.status, info.get("sub"), (info.get("name") or "").replace(" ", "+")))

def refresh(refresh_token):
    grant = RefreshGrant(clock, client_id, ep["token_endpoint"], refresh_token)
    a = grant.start(clock.ticks_ms())
    r = http.request(a.method, a.url, a.headers, a.body)
    return r.status, grant.on_response(clock.ticks_ms(), r.status, r.headers, r.body)

rt0 = tokens["refresh_token"]
status, a1 = refresh(rt0)
rt1 = a1.tokens["refresh_token"]
say("refresh n=1 status=%d kind=%s rotated=%s differs=%s id_token=%s" % (
    status, a1.kind, a1.rotated, rt1 != rt0, bool(a1.tokens["id_token"])))
status, a2 = refresh(rt1)
rt2, at2 = a2.tokens["refresh_token"], a2.tokens["access_token"]
say("refresh n=2 status=%d kind=%s rotated=%s differs=%s" % (status, a2.kind, a2.rotated, rt2 != rt1))

body = urlencode([("token", rt2), ("token_type_hint", "refresh_token"), ("client_id", client_id)])
r = http.request("POST", ep["revocation_endpoint"],
                 {"Content-Type": "application/x-www-form-urlencoded"}, body)
say("revoke status=%d" % r.status)
status, a3 = refresh(rt2)
say("refresh after=revoke status=%d kind=%s reason=%s" % (status, a3.kind, getattr(a3, "reason", None)))
r = userinfo(at2)
say("userinfo after=revoke status=%d" % r.status)
http.close()
say("done")
"""


def fields(line):
    """'name k=v k2=v2' -> {'_': 'name', 'k': 'v', ...}"""
    parts = line.split()
    out = {"_": parts[0] if parts else ""}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        out[k] = v
    return out


class DeviceRun:
    """One device process; lines are read as they come, so the user can act mid-flow."""

    def __init__(self, tmp_path, mode, issuer, client_id, slow_ms=0):
        script = tmp_path / "oidc_device.py"
        script.write_text(DEVICE_SCRIPT)
        env = dict(os.environ, MICROPYPATH="lib:firmware:boards")
        args = [MICROPYTHON, str(script), mode, issuer, client_id, str(slow_ms), str(tmp_path)]
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self._queue = queue.Queue()
        self._deadline = time.monotonic() + DEVICE_TIMEOUT
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.proc.stdout:  # a thread, so no line waits in a buffer unseen
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _next_line(self):
        left = self._deadline - time.monotonic()
        try:
            line = self._queue.get(timeout=max(left, 0.01))
        except queue.Empty:
            self.proc.kill()
            raise AssertionError("device timed out; output:\n" + "\n".join(self.lines))
        if line is not None:
            self.lines.append(line)
        return line

    def expect(self, name, **want):
        """Read until a line named `name` whose fields include `want`; return its fields."""
        while True:
            line = self._next_line()
            if line is None:
                self.proc.wait(timeout=5)
                raise AssertionError("device ended (rc=%s) before %s %s; output:\n%s"
                                     % (self.proc.returncode, name, want, "\n".join(self.lines)))
            f = fields(line)
            if f["_"] == name and all(f.get(k) == v for k, v in want.items()):
                return f

    def finish(self):
        while self._next_line() is not None:
            pass
        rc = self.proc.wait(timeout=10)
        assert rc == 0, "device exited %s; output:\n%s" % (rc, "\n".join(self.lines))
        return [fields(line) for line in self.lines]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


def find(parsed, name, **want):
    for f in parsed:
        if f["_"] == name and all(f.get(k) == v for k, v in want.items()):
            return f
    raise AssertionError("no %s %s in %s" % (name, want, parsed))


class UserThread(threading.Thread):
    """The person with the phone, acting in parallel with the polling device."""

    def __init__(self, action, uri, code):
        super().__init__(daemon=True)
        self.action, self.uri, self.code = action, uri, code
        self.result = self.error = None

    def run(self):
        try:
            fn = oidc_user.approve if self.action == "approve" else oidc_user.deny
            self.result = fn(self.uri, self.code)
        except Exception as e:  # reported by the test thread
            self.error = e

    def outcome(self):
        self.join(timeout=30)
        assert not self.is_alive(), "the scripted user hung"
        assert self.error is None, "scripted user failed: %r" % (self.error,)
        return self.result


@pytest.fixture(scope="module")
def provider():
    with start_provider(short_ttl=SHORT_TTL) as op:
        yield op


def test_sign_in_id_token_userinfo_refresh_rotation_and_revocation(provider, tmp_path):
    dev = DeviceRun(tmp_path, "approve", provider.issuer, provider.client_id)
    try:
        prof = dev.expect("profile")
        assert prof["name"] == "generic" and prof["needs_discovery"] == "True"
        disc = dev.expect("discovery")
        assert disc["status"] == "200" and disc["issuer"] == provider.issuer
        assert disc["device"] == provider.issuer + "/device/auth"
        assert disc["token"] == provider.issuer + "/token"
        assert disc["revocation"] != "None" and disc["userinfo"] != "None"
        assert dev.expect("discovery_cache")["same"] == "True"  # flash cache round trip on MicroPython
        reply = dev.expect("device_reply")
        assert reply["status"] == "200" and reply["interval"] == "absent"
        shown = dev.expect("show_code")
        assert shown["verification_uri"] == provider.issuer + "/device"
        # no interval from the server: the first poll waits the RFC 8628 default of 5 s
        assert dev.expect("wait")["ms"] == "5000"
        # the user has not acted yet: pending, HTTP 400, and the next poll again 5 s later
        dev.expect("poll", n="1", status="400", error="authorization_pending")
        assert dev.expect("wait") == {"_": "wait", "ms": "5000", "reason": "poll"}
        user = UserThread("approve", shown["verification_uri"], shown["user_code"])
        user.start()
        assert "Success" in user.outcome()
        out = dev.finish()
    finally:
        dev.kill()

    # every poll before the approval was pending (HTTP 400); the one after it got the tokens
    polls = [(p["status"], p["error"]) for p in out if p["_"] == "poll"]
    assert len(polls) >= 2 and polls[-1] == ("200", "None"), polls
    assert set(polls[:-1]) == {("400", "authorization_pending")}, polls
    tok = find(out, "tokens")
    assert tok["access"] == tok["id_token"] == tok["refresh"] == "True"
    assert tok["token_type"].lower() == "bearer" and "offline_access" in tok["scope"]
    idt = find(out, "id_token", valid="True")
    assert idt["sub"] == "alice" and idt["aud"] == provider.client_id and idt["iss_is_issuer"] == "True"
    assert find(out, "id_token", other_client="aud")
    assert find(out, "id_token", other_issuer="iss")
    ui = find(out, "userinfo", status="200")
    assert ui["sub"] == "alice" and ui["name"] == "Alice+Example"
    # rotation: every refresh hands out a new refresh token, and the new one works
    r1 = find(out, "refresh", n="1")
    assert (r1["status"], r1["kind"], r1["rotated"], r1["differs"]) == ("200", "tokens", "True", "True")
    assert r1["id_token"] == "True"
    r2 = find(out, "refresh", n="2")
    assert (r2["status"], r2["kind"], r2["rotated"], r2["differs"]) == ("200", "tokens", "True", "True")
    # revocation: the provider accepts it, then the refresh token is refused with invalid_grant
    assert find(out, "revoke")["status"] == "200"
    after = find(out, "refresh", after="revoke")
    assert (after["status"], after["kind"], after["reason"]) == ("400", "failed", "invalid_grant")
    # revoking the refresh token revoked the grant: its access token is dead too
    assert find(out, "userinfo", after="revoke")["status"] == "401"
    assert out[-1]["_"] == "done"


def test_user_aborts_and_device_shows_access_denied(provider, tmp_path):
    dev = DeviceRun(tmp_path, "deny", provider.issuer, provider.client_id)
    try:
        shown = dev.expect("show_code")
        user = UserThread("deny", shown["verification_uri"], shown["user_code"])
        user.start()
        user.outcome()
        out = dev.finish()
    finally:
        dev.kill()
    failed = find(out, "failed")
    assert failed["reason"] == "access_denied"
    last_poll = [f for f in out if f["_"] == "poll"][-1]
    assert (last_poll["status"], last_poll["error"]) == ("400", "access_denied")
    assert not [f for f in out if f["_"] == "tokens"]


def test_code_expired_on_the_server_gives_expired_token(provider, tmp_path):
    # The device handles the code reply SLOW_DEVICE_MS late (slow screen), so the server's
    # SHORT_TTL runs out before the device's own copy of expires_in: its first poll, 5 s later,
    # meets the provider's expired_token, which ends the flow (no retry, no new code).
    dev = DeviceRun(tmp_path, "expire", provider.issuer, provider.short_client_id, SLOW_DEVICE_MS)
    try:
        shown = dev.expect("show_code")
        assert shown["expires_in"] == str(SHORT_TTL)
        out = dev.finish()
    finally:
        dev.kill()
    polls = [f for f in out if f["_"] == "poll"]
    assert [(p["status"], p["error"]) for p in polls] == [("400", "expired_token")]
    assert find(out, "failed")["reason"] == "expired_token"
