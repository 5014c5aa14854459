# A failed flash write after a refresh (issue 13 item 3). The app, in-process on a ManualClock,
# against a token endpoint that rotates refresh tokens and revokes the whole grant when a used
# one comes back (as Auth0 does with rotation on). Its flash is a real TokenStore whose writes
# fail N times (the errors the firmware sees for ENOSPC and EIO), then work again.
import json

from check import tmpdir

from deviceflow.manualclock import ManualClock
from deviceflow.errors import StoreError
from deviceflow.http import Response
from deviceflow.store import TokenStore
import config
from app import App
from deviceflow.session import binding

T0 = 1800000000
API = "https://api.example.com/hello"
TOKEN_URL = "https://t.example.com/oauth/token"


class FailingStore(TokenStore):
    """A TokenStore whose next `fails` saves fail as a full or broken flash does."""

    def __init__(self, path, fails):
        TokenStore.__init__(self, path, b"k" * 32)
        self.fails = fails
        self.attempts = []  # ticks of every save attempt

    def save(self, record):
        self.attempts.append(self.clock.ticks_ms())
        if self.fails:
            self.fails -= 1
            errno = (28, 5)[self.fails % 2]  # ENOSPC, EIO
            raise StoreError("write_failed", "could not write tokens.json (errno %d)" % errno)
        TokenStore.save(self, record)


class Provider:
    """The network peer: a rotating token endpoint with reuse detection, and the API."""

    def __init__(self):
        self.n = 1
        self.live = "rt-1"
        self.used = []
        self.revoked = False
        self.refreshes = 0
        self.api = []  # status of each API call

    def request(self, method, url, headers=None, body=None):
        if url == TOKEN_URL:
            if not isinstance(body, str):
                body = str(body, "utf-8")
            form = dict(p.split("=", 1) for p in body.split("&"))
            rt = form.get("refresh_token")
            if self.revoked or rt != self.live:
                if rt in self.used:
                    self.revoked = True  # reuse: the whole family goes
                return Response(400, {"content-type": "application/json"}, b'{"error": "invalid_grant"}')
            self.refreshes += 1
            self.used.append(rt)
            self.n += 1
            self.live = "rt-%d" % self.n
            reply = {"access_token": "at-%d" % self.n, "token_type": "Bearer", "expires_in": 3600,
                     "refresh_token": self.live}
            return Response(200, {"content-type": "application/json"}, json.dumps(reply).encode())
        if url == API:
            ok = headers.get("Authorization") == "Bearer at-%d" % self.n
            self.api.append(200 if ok else 401)
            return Response(200 if ok else 401, {}, b"{}")
        return Response(404, {}, b"")


class Log:
    def __init__(self):
        self.events = []

    def event(self, event_name, **fields):
        fields["event"] = event_name
        self.events.append(fields)

    def error(self, reason, detail=None, **fields):
        self.event("error", reason=reason, detail=detail, **fields)


class Board:
    """The app's screen and platform: nothing to see, the network always up."""
    code_shown = False

    def message(self, kind, detail=None):
        pass

    def tick(self, now):
        pass

    def network_up(self):
        return True

    def set_clock(self):
        return True


def _run(fails):
    d = tmpdir()
    clock = ManualClock(wall=T0)
    cfg = config.validate({"issuer": "https://t.example.com/", "client_id": "cid", "api_url": API,
                           "provider": "generic", "scope": "offline_access", "state_dir": d,
                           "device_authorization_endpoint": "https://t.example.com/oauth/device",
                           "token_endpoint": TOKEN_URL, "jwks_uri": "https://t.example.com/jwks",
                           "refresh_spread_s": 0, "api_interval_s": 30, "api_spread_s": 0})
    store = FailingStore(d + "/tokens.json", 0)
    store.clock = clock
    # Signed in an hour ago: the access token just expired, the refresh token is live.
    store.save({"v": 1, "access_token": "at-1", "token_type": "Bearer", "refresh_token": "rt-1",
                "expires_in": 3600, "obtained_at": T0 - 3600, "expires_at": T0, "bound": binding(cfg)})
    store.attempts = []
    store.fails = fails
    log = Log()
    peer = Provider()
    app = App(cfg, clock, peer, store, Board(), log, lambda: 0.5, Board())
    for _ in range(5000):
        wait = app.step()
        clock.advance(max(wait, 10))
        if clock.wall > T0 + 240:
            break
    return app, store, peer, log, d


def test_new_tokens_are_used_while_the_write_is_retried_with_backoff():
    for fails in (1, 3, 6):
        app, store, peer, log, d = _run(fails)
        assert peer.refreshes == 1 and not peer.revoked, (fails, peer.refreshes)
        # the refreshed access token was used at once, before any write had worked
        assert peer.api and 401 not in peer.api, peer.api
        first_ok = [i for i, e in enumerate(log.events) if e["event"] == "api_ok"][0]
        stored = [i for i, e in enumerate(log.events) if e["event"] == "tokens_stored"]
        assert stored and first_ok < stored[0], log.events
        # each failure logged, retries spaced out further and further, then one success
        errors = [e for e in log.events if e["event"] == "error"]
        assert [e["reason"] for e in errors] == ["store_write_failed"] * fails, errors
        gaps = [app.clock.ticks_diff(b, a) for a, b in zip(store.attempts, store.attempts[1:])]
        assert len(store.attempts) == fails + 1, store.attempts
        assert all(g >= 2000 for g in gaps), gaps
        # flash now holds the rotated refresh token, and a reboot can use it
        rec = TokenStore(d + "/tokens.json", b"k" * 32).load()
        assert rec["refresh_token"] == peer.live == "rt-2", rec
        assert app.state in ("idle", "api"), app.state
