"""An in-process model of an Auth0 tenant and the device's API, for tools/fleet.py.

Virtual time, no sockets: each simulated device gets a Link whose request(method, url, headers,
body) returns a deviceflow.http.Response, like the real transport. The model:

- rate-limits /oauth/token (refresh and device-code polls) with a token bucket, Auth0's free
  public tier by default (burst 30, 30 per second); beyond it: 429 too_many_requests with a
  Retry-After of the seconds until the bucket holds a request again;
- runs the device flow (code, interval, slow_down when polled too fast, a scripted user who
  approves after a while) and the refresh grant with rotation (a reused refresh token is
  invalid_grant and revokes the family, as on Auth0 with rotation on);
- issues opaque tokens: the simulated scope has no `openid`, so no id_token comes and nothing is
  signed (RS256 checks are exercised elsewhere; here only timing and counts matter);
- answers the API with 200 for a live access token, 401 otherwise;
- can be "down" (503 HTML page) for stated windows of time;
- records, per device, every token-endpoint request and any broken rule (polled before the
  interval, retried before Retry-After or before the 5 s floor, refreshed with more than half the
  access token's lifetime left), and per second the requests, 429s and answers.
Token values never leave the model in any printout.
"""
import json
import math
from urllib.parse import parse_qsl

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

from deviceflow.http import Response  # noqa: E402

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ISSUER = "https://fleet-tenant.us.auth0.com/"
TOKEN_URL = ISSUER + "oauth/token"
DEVICE_URL = ISSUER + "oauth/device/code"
API_URL = "https://api.example.com/v1/hello"
JSON = {"content-type": "application/json"}
RETRY_FLOOR_MS = 5000  # the app's refresh retry floor (refresh.RETRY_BASE_MS)


class TokenBucket:
    """`burst` requests at once, refilled at `rate` per second."""

    def __init__(self, burst, rate):
        self.burst = float(burst)
        self.rate = float(rate)
        self.level = float(burst)
        self.t = 0.0

    def take(self, t_s):
        """(True, 0) when a request may pass at t_s, else (False, retry_after_s)."""
        if t_s > self.t:
            self.level = min(self.burst, self.level + (t_s - self.t) * self.rate)
            self.t = t_s
        if self.level >= 1.0:
            self.level -= 1.0
            return True, 0
        return False, max(1, int(math.ceil((1.0 - self.level) / self.rate)))


class PerSecond:
    """Counts per whole second of virtual time."""

    def __init__(self):
        self.counts = {}

    def add(self, t_ms):
        s = int(t_ms // 1000)
        self.counts[s] = self.counts.get(s, 0) + 1

    def peak(self):
        return max(self.counts.values()) if self.counts else 0

    def series(self, end_s):
        return [self.counts.get(s, 0) for s in range(int(end_s))]


class DeviceRecord:
    __slots__ = ("token_times", "retry_not_before", "poll_not_before", "refresh_ok_after",
                 "violations", "api_ok", "first_api_ok", "last_token_status")

    def __init__(self):
        self.token_times = []  # ms of every token-endpoint request
        self.retry_not_before = None  # ms: set by a 429 (Retry-After) or an error answer
        self.poll_not_before = None  # ms: the device code's interval after the last poll answer
        self.refresh_ok_after = None  # ms: half the current access token's lifetime
        self.violations = []
        self.api_ok = 0
        self.first_api_ok = None
        self.last_token_status = None


class Provider:
    def __init__(self, devices, burst=30, rate=30.0, access_ttl=86400, code_ttl=900, interval=5,
                 approve_after=(20, 120), outages=(), rng=None):
        self.bucket = TokenBucket(burst, rate)
        self.access_ttl = access_ttl
        self.code_ttl = code_ttl
        self.interval = interval
        self.approve_after = approve_after
        self.outages = [(a * 1000, b * 1000) for a, b in outages]
        self.rng = rng
        self.dev = [DeviceRecord() for _ in range(devices)]
        self.token_req = PerSecond()  # every request to /oauth/token
        self.token_ok = PerSecond()  # answered 200
        self.too_many = PerSecond()  # answered 429
        self.refused = PerSecond()  # answered 503 (outage)
        self.api_req = PerSecond()
        self.device_req = PerSecond()  # /oauth/device/code
        self.n429 = 0
        self.n503 = 0
        self.refreshes = 0
        self.polls = 0
        self.invalid_grants = 0
        self._access = {}  # access token -> (device, expires ms)
        self._refresh = {}  # refresh token -> (device, family, live)
        self._families = {}  # family -> live
        self._codes = {}  # device code -> dict
        self._serial = 0

    # ---- tokens ---------------------------------------------------------------------------
    def _new(self, prefix, device):
        self._serial += 1
        return "%s.%d.%d" % (prefix, device, self._serial)

    def issue(self, device, t_ms, family=None):
        """A token reply (dict) for `device` at t_ms; also used to give devices tokens before t=0."""
        at = self._new("at", device)
        rt = self._new("rt", device)
        if family is None:
            family = rt
            self._families[family] = True
        self._access[at] = (device, t_ms + self.access_ttl * 1000)
        self._refresh[rt] = (device, family)
        rec = self.dev[device]
        rec.refresh_ok_after = t_ms + self.access_ttl * 500
        return {"access_token": at, "refresh_token": rt, "token_type": "Bearer",
                "expires_in": self.access_ttl, "scope": "offline_access"}

    def _down(self, t_ms):
        for a, b in self.outages:
            if a <= t_ms < b:
                return True
        return False

    # ---- the wire ---------------------------------------------------------------------------
    def handle(self, device, t_ms, method, url, headers, body):
        if url == API_URL:
            return self._api(device, t_ms, headers)
        if self._down(t_ms):
            self.n503 += 1
            if url == TOKEN_URL:
                self.token_req.add(t_ms)
                self.refused.add(t_ms)
                rec = self.dev[device]
                self._check_retry(rec, t_ms)
                rec.token_times.append(t_ms)
                rec.retry_not_before = t_ms + RETRY_FLOOR_MS
            return Response(503, {"content-type": "text/html"}, b"<html>Service Unavailable</html>")
        if isinstance(body, str):
            body = body.encode()
        form = dict(parse_qsl((body or b"").decode()))
        if url == DEVICE_URL:
            self.device_req.add(t_ms)
            return self._device_code(device, t_ms, form)
        if url == TOKEN_URL:
            return self._token(device, t_ms, form)
        return Response(404, JSON, b'{"error":"not_found"}')

    def _reply(self, status, obj, extra=None):
        h = dict(JSON)
        if extra:
            h.update(extra)
        return Response(status, h, json.dumps(obj).encode())

    def _check_retry(self, rec, t_ms):
        if rec.retry_not_before is not None and t_ms < rec.retry_not_before:
            rec.violations.append((t_ms, "retried %d ms early" % (rec.retry_not_before - t_ms)))
        rec.retry_not_before = None

    def _token(self, device, t_ms, form):
        rec = self.dev[device]
        self.token_req.add(t_ms)
        self._check_retry(rec, t_ms)
        grant = form.get("grant_type")
        if grant == DEVICE_GRANT and rec.poll_not_before is not None and t_ms < rec.poll_not_before:
            rec.violations.append((t_ms, "polled %d ms before the interval" % (rec.poll_not_before - t_ms)))
        if grant == "refresh_token" and rec.refresh_ok_after is not None and t_ms < rec.refresh_ok_after:
            rec.violations.append((t_ms, "refreshed with more than half the lifetime left"))
        rec.token_times.append(t_ms)
        ok, retry_s = self.bucket.take(t_ms / 1000.0)
        if not ok:
            self.n429 += 1
            self.too_many.add(t_ms)
            rec.retry_not_before = t_ms + max(retry_s * 1000, RETRY_FLOOR_MS if grant == "refresh_token" else 0)
            rec.last_token_status = 429
            return self._reply(429, {"error": "too_many_requests",
                                     "error_description": "Global limit has been reached"},
                               {"retry-after": str(retry_s)})
        rec.last_token_status = 200
        if grant == "refresh_token":
            return self._refresh_grant(device, t_ms, form)
        if grant == DEVICE_GRANT:
            return self._poll(device, t_ms, form)
        return self._reply(400, {"error": "unsupported_grant_type"})

    def _refresh_grant(self, device, t_ms, form):
        self.refreshes += 1
        entry = self._refresh.pop(form.get("refresh_token"), None)
        if entry is None or entry[0] != device or not self._families.get(entry[1]):
            if entry is not None:
                self._families[entry[1]] = False  # reuse: revoke the whole family
            self.invalid_grants += 1
            self.dev[device].violations.append((t_ms, "refresh token unknown or reused"))
            return self._reply(403, {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
        self.token_ok.add(t_ms)
        return self._reply(200, self.issue(device, t_ms, family=entry[1]))

    def _device_code(self, device, t_ms, form):
        dc = self._new("dc", device)
        wait = self.approve_after[0] + (self.approve_after[1] - self.approve_after[0]) * self.rng()
        self._codes[dc] = {"device": device, "expires": t_ms + self.code_ttl * 1000,
                           "approve_at": t_ms + wait * 1000, "interval": self.interval}
        rec = self.dev[device]
        rec.poll_not_before = t_ms + self.interval * 1000
        n = self._serial
        user_code = "%s-%s" % ("BCDFGHJK"[n % 8] * 4, "LMNPQRST"[(n // 8) % 8] * 4)
        return self._reply(200, {"device_code": dc, "user_code": user_code,
                                 "verification_uri": ISSUER + "activate",
                                 "verification_uri_complete": ISSUER + "activate?user_code=" + user_code,
                                 "expires_in": self.code_ttl, "interval": self.interval})

    def _poll(self, device, t_ms, form):
        self.polls += 1
        rec = self.dev[device]
        code = self._codes.get(form.get("device_code"))
        if code is None or code["device"] != device:
            return self._reply(403, {"error": "invalid_grant", "error_description": "Invalid device code."})
        if t_ms >= code["expires"]:
            del self._codes[form.get("device_code")]
            return self._reply(403, {"error": "expired_token", "error_description": "Device code expired."})
        early = rec.poll_not_before is not None and t_ms < rec.poll_not_before
        if early:
            code["interval"] += 5
        rec.poll_not_before = t_ms + code["interval"] * 1000
        if early:
            return self._reply(429, {"error": "slow_down", "error_description": "Slow down."})
        if t_ms < code["approve_at"]:
            return self._reply(403, {"error": "authorization_pending", "error_description": "Pending."})
        del self._codes[form.get("device_code")]
        rec.poll_not_before = None
        self.token_ok.add(t_ms)
        return self._reply(200, self.issue(device, t_ms))

    def _api(self, device, t_ms, headers):
        self.api_req.add(t_ms)
        auth = (headers or {}).get("Authorization", "")
        entry = self._access.get(auth[7:]) if auth.startswith("Bearer ") else None
        if entry is None or entry[0] != device or t_ms >= entry[1]:
            return Response(401, JSON, b'{"error":"invalid_token"}')
        rec = self.dev[device]
        rec.api_ok += 1
        if rec.first_api_ok is None:
            rec.first_api_ok = t_ms
        return Response(200, JSON, b'{"hello":"device"}')

    def forget_expired(self, t_ms):
        """Drop access tokens past expiry (keeps memory flat over a simulated day)."""
        dead = [k for k, v in self._access.items() if v[1] <= t_ms]
        for k in dead:
            del self._access[k]


class Link:
    """One device's transport: the model answers; the device's clock moves by the latency."""

    def __init__(self, provider, device, sim_device, latency_ms=150):
        self.provider = provider
        self.device = device
        self.sim = sim_device
        self.latency_ms = latency_ms
        self.handshakes = 0

    def request(self, method, url, headers=None, body=None):
        resp = self.provider.handle(self.device, self.sim.t, method, url, headers, body)
        self.sim.advance(self.latency_ms)
        return resp

    def close(self):
        pass
