# One object that signs a device in (OAuth 2.0 Device Authorization Grant, RFC 8628) and keeps
# its access token fresh: the library's public API (docs/LIBRARY.md). Our firmware's app is a
# user of it too (firmware/app.py adds the screens, buttons, API loop and run modes).
#
#   from deviceflow.client import DeviceClient
#   auth = DeviceClient(issuer="https://TENANT.auth0.com/", client_id="...", state_dir="state")
#   r = auth.request("GET", "https://api.example.com/hello")  # signs in first when it must
#
# One engine, three ways to drive it: token() blocks (scripts, the REPL); step() runs at most
# one HTTP exchange and returns the ms until it wants to run again (a hand-written loop);
# token_async() awaits between steps (asyncio). Tokens are kept in state_dir/tokens.json
# (deviceflow.store: atomic, HMAC-tagged) and bound to issuer, client, audience and scope; a
# rotated refresh token is on flash before the new access token is handed out.
#
# STATES below is the whole state machine. Each state is a function `state(client, now)` in
# the module of its phase: starting (load -> endpoints), signing_in (the device flow),
# accepting (validate -> userinfo) and signed_in (ready, refresh, sign_out). A phase's module
# is imported when one of its states first runs and dropped when another phase's state runs
# (deviceflow/phase.py): a wake that refreshes never loads the sign-in's code, and the sign-in
# never holds the JWT code and the device flow's code together.
#
# Events go to on_event(name, **fields), one per step worth knowing (show_code, approved,
# id_token_ok, tokens_stored, signed_in, refreshed, revoked, signed_out, error with reason and
# detail, ...), never a token or device code: the firmware passes its log's event().
import gc

from deviceflow.clock import backoff_ms
from deviceflow.errors import ConfigError, DeviceFlowError, StoreError, TLSError, TransportError
from deviceflow.phase import drop
from deviceflow.session import Session

STATES = {
    "load": "deviceflow.starting", "endpoints": "deviceflow.starting",
    "device_start": "deviceflow.signing_in", "device_poll": "deviceflow.signing_in",
    "validate": "deviceflow.accepting", "userinfo": "deviceflow.accepting",
    "ready": "deviceflow.signed_in", "refresh": "deviceflow.signed_in", "sign_out": "deviceflow.signed_in",
    "halted": None,  # failed for good or signed out: new_code() (or token()) starts again
}
MAX_BACKOFF_MS = 300000
# What a config may leave out (the firmware's config.py checks and fills in the rest).
DEFAULTS = {"provider": "auto", "state_dir": ".", "refresh_margin_s": 60, "refresh_window_s": 600,
            "refresh_spread_s": 0, "sign_in_spread_s": 0, "timeout_ms": 10000}


class Events:
    """on_event(name, **fields) in the shape the phases call: event() and error()."""

    def __init__(self, on_event):
        self.on_event = on_event

    def event(self, event_name, **fields):  # not `name`: some events have a name field
        if self.on_event is not None:
            self.on_event(event_name, **fields)

    def error(self, reason, detail=None, **fields):
        self.event("error", reason=reason, detail=detail, **fields)


class DeviceClient:
    def __init__(self, config=None, clock=None, transport=None, state_dir=None, show=None,
                 surface=None, on_event=None, store=None, screen=None, rand=None, set_clock=None,
                 on_milestone=None, **options):
        """config (or keyword options): issuer, client_id, and what docs/LIBRARY.md lists.
        Seams, all optional: clock (deviceflow.clock), transport (deviceflow.http.Transport),
        state_dir or store (a FlashStore), how the code is shown (show(code) callback, a
        framebuf-like surface, or a screen object like the firmware's Display), on_event,
        rand (-> float in [0, 1), for jitter), set_clock (-> bool: set the wall clock by NTP;
        tried when a certificate is 'not yet valid'), on_milestone(name) ('trouble',
        'flow_failed', 'signed_out')."""
        cfg = dict(DEFAULTS)
        cfg.update(config or {})
        cfg.update(options)
        if state_dir:
            cfg["state_dir"] = state_dir
        for key in ("issuer", "client_id"):
            if not isinstance(cfg.get(key), str) or not cfg[key]:
                raise ConfigError(key, "required")
        self.cfg = cfg
        if clock is None:
            from deviceflow.clock import SystemClock
            clock = SystemClock()
        self.clock = clock
        if transport is None:
            from deviceflow.http import Transport
            transport = Transport(ca_file=cfg.get("ca_file"), timeout_ms=cfg["timeout_ms"])
        self.http = transport
        if screen is None:
            from deviceflow.callbackscreen import CallbackScreen
            screen = CallbackScreen(show, surface)
        self.screen = screen
        self.log = Events(on_event)
        self.rand = rand or _no_jitter
        self.set_clock = set_clock
        self.on_milestone = on_milestone
        if store is None:
            store = _flash_store(cfg["state_dir"])
        # A sensor's wakes are already spread by its sleeps, and waiting awake for a spread
        # refresh point costs battery: it refreshes at once when the token is due.
        spread = 0 if cfg.get("mode") == "sensor" else cfg["refresh_spread_s"]
        self.session = Session(clock, self.rand, cfg["refresh_margin_s"], cfg["refresh_window_s"], spread, store)
        from deviceflow.endpoints import Endpoints

        self.endpoints = Endpoints(cfg, transport, self.log, store)
        self.state = "load"
        self.wake_at = clock.ticks_ms()
        self.loaded = False  # the stored record was read (starting.load)
        self.failure = None  # why the client halted (a DeviceFlowError), for token() to raise
        self.flow = None  # the DeviceFlow under way
        self.grant = None  # the RefreshGrant under way; None: the refresh state starts one
        self.pending = None  # the tokens awaiting validation
        self.jwks_refetched = False
        self.keys = None  # the provider's signing keys while a sign-in needs them (accepting)
        self.jwks_fetched = False  # the JWKS is in its file, fetched in this run (keys.py)
        self.prefetch = False  # the JWKS is to be fetched while the code is on screen (signing_in)
        self.failures = 0  # consecutive failed exchanges outside the engines
        self.busy_refusals = 0  # consecutive "not now" failures of the device flow (signing_in)
        self.signins = 0
        self.refreshes = 0
        self.unsaved = None  # a token record in use whose write to flash failed (persist)
        self.save_at = None  # ticks of the next write attempt
        self.save_failures = 0
        self._ran = None  # the state whose step ran last
        self._phase = None  # the module of the phase that ran last

    # ---- driving ----------------------------------------------------------------------
    def step(self):
        """Run the current state if it is due (at most one HTTP exchange); return the ms until
        the next step is wanted (0: at once; while signed in, until the token wants refreshing)."""
        now = self.clock.ticks_ms()
        self.retry_save(now)
        wait = self.clock.ticks_diff(self.wake_at, now)
        if wait > 0:
            return wait
        if self.state != self._ran:
            # A phase boundary: free the last phase's garbage before the next one allocates,
            # so its long-lived objects land low in the heap instead of among the holes.
            self._ran = self.state
            gc.collect()
        self.run(self._handler(self.state), self, now)
        return max(0, self.clock.ticks_diff(self.wake_at, self.clock.ticks_ms()))

    def run(self, state_fn, owner, now):
        """Run one state of `owner` (this client, or an app built on it), turning what it raises
        into a retry with backoff (trouble): a board must never crash-loop."""
        try:
            state_fn(owner, now)
        except TLSError as e:
            self.clock_suspect(e)
            self.trouble(now, "tls", e, owner=owner)
        except TransportError as e:
            self.trouble(now, "network", e, owner=owner)
        except DeviceFlowError as e:
            self.trouble(now, "error", e, owner=owner)
        except Exception as e:  # noqa: BLE001 -- a bug, a driver fault, MemoryError
            # Log its type only (its text could hold anything), back off like a failed
            # exchange, and carry on from the same state.
            reason = "out_of_memory" if isinstance(e, MemoryError) else "unexpected"
            gc.collect()
            err = DeviceFlowError(reason, "unexpected " + type(e).__name__ + "; retrying")
            self.trouble(now, "error", err, owner=owner)

    def _handler(self, state):
        """The function of `state`, importing its phase's module (and dropping the last one's)."""
        name = STATES[state]
        if name is None:
            return _halted
        if name != self._phase:
            self.drop_phase()
            self._phase = name
        return getattr(__import__(name, None, None, ("x",)), state)

    def drop_phase(self):
        """Drop the last phase's code (an app does while it runs its own states)."""
        if self._phase is not None:
            drop(self._phase)
            self._phase = None

    def ready(self, now=None):
        """Signed in, with an access token that is good and not due for a refresh."""
        if now is None:
            now = self.clock.ticks_ms()
        s = self.session
        return self.state == "ready" and s.access_valid(now) and not s.refresh_due(now)

    def token(self):
        """A valid access token, signing in or refreshing as needed (blocks until then).
        Raises the DeviceFlowError (TokenError, ...) that ended a sign-in for good (declined,
        expired, a rejected ID token); the next call starts a new one."""
        while True:
            ms = self.step()
            t = self._ready_token()
            if t:
                return t
            self.clock.sleep_ms(ms)

    async def token_async(self):
        """token() for asyncio: other tasks run between steps (an exchange itself blocks)."""
        import asyncio

        while True:
            ms = self.step()
            t = self._ready_token()
            if t:
                return t
            if hasattr(asyncio, "sleep_ms"):
                await asyncio.sleep_ms(ms)
            else:
                await asyncio.sleep(ms / 1000)

    def _ready_token(self):
        if self.state == "halted":
            err, self.failure = self.failure, None
            if err is not None:
                raise err
            self.new_code()  # signed out earlier: sign in again
            return None
        return self.session.access_token() if self.ready() else None

    @property
    def signed_in(self):
        """A good access token is at hand (the store is read on first use: no exchange)."""
        now = self.clock.ticks_ms()
        if not self.loaded:
            from deviceflow.starting import load

            load(self, now)
        s = self.session
        return self.state != "halted" and s.access_valid(now) and not s.refresh_due(now)

    @property
    def record(self):
        """The stored record (tokens, expiry, name, sub), or None."""
        return self.session.record

    # ---- using the token -----------------------------------------------------------------
    def request(self, method, url, headers=None, body=None):
        """An authorized request (the transport's Response); on 401 the token is refreshed
        (or the device signed in again) and the request sent once more."""
        for attempt in (0, 1):
            h = dict(headers or {})
            h["Authorization"] = "Bearer " + self.token()
            resp = self.exchange(method, url, h, body)
            if resp.status != 401 or attempt:
                return resp
            self.log.error("api_unauthorized", status=401)
            self.unauthorized(False)

    async def request_async(self, method, url, headers=None, body=None):
        await self.token_async()  # sign-in and refresh let other tasks run
        return self.request(method, url, headers, body)

    def unauthorized(self, after_refresh):
        """The API answered 401 to the access token: refresh it, or sign in again when there is
        no refresh token or the token it refused was just refreshed (`after_refresh`)."""
        now = self.clock.ticks_ms()
        if not after_refresh and self.session.refresh_token():
            self.refresh_now()
        else:
            self.forget_tokens(now)
            self.goto("device_start")

    def refresh_now(self):
        """Refresh the tokens at the next step."""
        self.grant = None
        self.goto("refresh")

    def new_code(self):
        """Start a new sign-in (after a failure, or to replace a code on screen)."""
        self.failure = None
        self.flow = None
        self.goto("device_start" if self.endpoints.urls is not None else "load")

    def sign_out(self, wait=True):
        """Revoke the refresh token where the provider can (RFC 7009), then wipe the tokens.
        wait=False: only start it; the next steps do it (a loop that must not block)."""
        self.flow = self.grant = self.pending = None
        self.goto("sign_out")
        while wait and self.state == "sign_out":
            self.step()

    def close(self):
        getattr(self.http, "close", lambda: None)()

    # ---- what the phases share ------------------------------------------------------------
    def goto(self, state, delay_ms=0):
        self.state = state
        self.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay_ms)

    def sleep_until(self, until):
        self.wake_at = until

    def halt(self, failure=None):
        """Stop until new_code() (the app: a button press); token() raises `failure`."""
        self.failure = failure
        self.goto("halted", 3600 * 1000)

    def milestone(self, name):
        if self.on_milestone is not None:
            self.on_milestone(name)

    def trouble(self, now, kind, err, retry_after=None, owner=None):
        """A failed exchange: say so, back off (doubling, capped, full jitter, never sooner than
        Retry-After), then retry the same state of `owner` (this client, or the app's)."""
        owner = owner or self
        self.log.error(err.reason, detail=err.detail, state=owner.state)
        if not self.screen.code_shown:
            self.screen.message(kind, err.detail or err.reason)
        self.milestone("trouble")
        delay = backoff_ms(2000, self.failures, MAX_BACKOFF_MS, self.rand, retry_after)
        self.failures += 1
        # Counted from now, after the failed exchange: `now` was taken before it, and a request
        # that timed out would otherwise be retried at once.
        owner.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay)

    def server_trouble(self, resp, state):
        """An answer the engine retries later (5xx, 429, an error or portal page, a reply that
        is no OAuth reply): log it and, unless the code is on screen, show it."""
        reason = "server_busy" if resp.status == 429 or resp.status >= 500 else "bad_reply"
        detail = "server answered HTTP %d; retrying later" % resp.status
        self.log.error(reason, detail=detail, status=resp.status, state=state)
        if not self.screen.code_shown:
            self.screen.message("network", detail)

    def exchange(self, method, url, headers=None, body=None):
        resp = self.http.request(method, url, headers, body)
        self.failures = 0
        return resp

    def perform(self, engine, send, state):
        """Carry out an engine's Send and return the engine's answer to what came back."""
        try:
            resp = self.exchange(send.method, send.url, send.headers, send.body)
        except TransportError as e:
            self.log.error(e.reason, detail=e.detail, state=state)
            if isinstance(e, TLSError):
                self.clock_suspect(e)
                self.screen.message("tls", e.detail or e.reason)
            else:
                self.endpoints.forget_discovery()  # a cached endpoint may be gone: re-fetch next boot
                if not self.screen.code_shown:  # the code, once shown, stays up
                    self.screen.message("network", e.detail or e.reason)
            return engine.on_transport_error(self.clock.ticks_ms(), e.reason)
        if resp.status == 404:
            self.endpoints.forget_discovery()  # no such endpoint (any more): re-fetch next boot
        action = engine.on_response(self.clock.ticks_ms(), resp.status, resp.headers, resp.body)
        if action.kind == "wait" and action.reason == "backoff":
            self.server_trouble(resp, state)
        return action

    def clock_suspect(self, err):
        """A certificate 'not valid yet' on a board means the RTC is wrong (never set, or reset):
        ask NTP again at once; the failed exchange is retried by its own backoff."""
        if err.reason == "tls_not_yet_valid" and self.set_clock is not None:
            self.log.event("clock_resync", ok=1 if self.set_clock() else 0)

    def save(self, now, tokens, claims, fresh):
        # The new record (and a rotated refresh token in it) is written to flash before the new
        # access token is used anywhere. When the write fails (flash full, I/O error), the new
        # tokens are used from RAM all the same and only the write is retried (persist): the
        # grant is spent, and the refresh token still on flash may be revoked for reuse.
        from deviceflow.session import make_record

        record = make_record(tokens, self.clock.time(), claims, self.session.record, self.endpoints.binding())
        self.persist(record, now)
        self.session.adopt(record, fresh, now)

    def persist(self, record, now):
        """Write `record` to flash; on a StoreError keep it for a retry with backoff (retry_save)."""
        try:
            self.session.write(record)
        except StoreError as e:
            if e.reason in ("too_large", "bad_record"):  # the record, not the flash: no retry helps
                self.unsaved = None
                self.log.error("store_" + e.reason, detail=e.detail)
                return
            delay = backoff_ms(2000, self.save_failures, MAX_BACKOFF_MS, self.rand)
            self.save_failures += 1
            self.unsaved = record
            self.save_at = self.clock.ticks_add(self.clock.ticks_ms(), delay)
            self.log.error("store_" + e.reason, detail=e.detail, retry_ms=delay, attempt=self.save_failures)
            return
        self.unsaved = None
        self.save_failures = 0
        self.log.event("tokens_stored", refresh=1 if record.get("refresh_token") else 0,
                       expires_in=record.get("expires_in"))

    def retry_save(self, now, force=False):
        """Write a record whose write failed once more, when its backoff is over (or now:
        `force`, before a deep sleep RAM does not survive). Only the write, never the exchange."""
        if self.unsaved is not None and (force or self.clock.ticks_diff(now, self.save_at) >= 0):
            self.persist(self.unsaved, now)

    def forget_tokens(self, now):
        self.unsaved = None  # a pending write must not bring a signed-out record back
        self.session.forget(now)


def _halted(client, now):
    client.goto("halted", 3600 * 1000)  # only new_code() moves on


def _no_jitter():
    return 0.0


def _flash_store(state_dir):
    """The tokens' store under state_dir, tagged with the device key (made on first use)."""
    from deviceflow.flashstore import FlashStore
    from deviceflow.store import load_or_create_key

    key = load_or_create_key(state_dir + "/device.key")
    drop("deviceflow.store", "deviceflow.hmac_sha256")
    return FlashStore(state_dir + "/tokens.json", key)
