# The app: a non-blocking state machine driven by one loop tick.
#
# Each call to step() does at most one HTTP exchange (bounded by the transport's
# timeout) and returns how many ms it may sleep before the next call; between
# steps the main loop keeps the countdown, buttons and watchdog going. OAuth
# replies are never parsed here: the flow engine and refresh grant decide, the
# app only carries out their actions (send, wait, show, store).
#
# STATES below is the whole state machine: each state is a function `state(app, now)` in the
# module of its phase: booting (start -> network -> clock -> load -> endpoints), signin (the
# device flow), accepting (validate -> userinfo) and signedin (api, idle, refresh, sign_out). A
# phase's module is imported when one of its states first runs and dropped when another
# phase's state runs (deviceflow/phase.py): a wake that refreshes never loads the sign-in, and
# the sign-in never holds the code of the API loop. This module keeps what every phase shares.
import gc

from deviceflow.clock import backoff_ms
from deviceflow.errors import DeviceFlowError, TLSError, TransportError
from deviceflow.phase import drop
from deviceflow.session import Session
from endpoints import Endpoints

STATES = {
    "start": "booting", "network": "booting", "clock": "booting", "load": "booting",
    "endpoints": "booting",
    "device_start": "signin", "device_poll": "signin", "validate": "accepting", "userinfo": "accepting",
    "api": "signedin", "idle": "signedin", "refresh": "signedin", "sign_out": "signedin",
    "halted": None,  # App.halted: waits for a button
}
MAX_BACKOFF_MS = 300000


class App:
    def __init__(self, cfg, clock, transport, store, screen, log, rand, platform, on_milestone=None):
        self.cfg = cfg
        self.clock = clock
        self.http = transport
        self.screen = screen
        self.log = log
        self.rand = rand
        self.platform = platform
        # on_milestone(app, name): a run mode's hook (firmware/start.py: --once, --demo), told of
        # "trouble", "flow_failed", "api_ok" and "signed_out"; it may set exit_code or refresh_now().
        self.on_milestone = on_milestone
        # A sensor's wakes are already spread by its sleeps, and waiting awake for a spread
        # refresh point costs battery: it refreshes at once when the token is due.
        spread = 0 if cfg.get("mode") == "sensor" else cfg.get("refresh_spread_s", 0)
        self.session = Session(clock, rand, cfg["refresh_margin_s"], cfg["refresh_window_s"], spread, store)
        self.endpoints = Endpoints(cfg, transport, log, store)
        self.state = "start"
        self.wake_at = clock.ticks_ms()
        self.exit_code = None
        self.flow = None
        self.grant = None  # the RefreshGrant under way; None: the refresh state starts one
        self.pending = None  # TokensReady awaiting validation
        self.jwks_refetched = False
        self.keys = None  # the provider's signing keys while a sign-in needs them (accepting._keys)
        self.jwks_fetched = False  # the JWKS is in its file, fetched in this run (keys.py)
        self.api_retry_after_refresh = False
        self.api_at = None
        self.failures = 0  # consecutive failed exchanges outside the engines
        self.api_calls = 0
        self.refreshes = 0
        self.code_expires_at = None
        self.busy_refusals = 0  # consecutive "not now" failures of the device flow (signin._RETRY_LATER)
        self.clock_tries = 0  # failed NTP attempts in a row
        self.unsaved = None  # a token record in use whose write to flash failed (persist)
        self.save_at = None  # ticks of the next write attempt
        self.save_failures = 0
        self._ran = None  # the state whose step ran last
        self._phase = None  # the module of the phase that ran last

    # ---- driving -------------------------------------------------------
    def step(self):
        """Run the current state once if it is due; return ms until the next step is wanted."""
        now = self.clock.ticks_ms()
        if self.screen.code_shown:
            self.screen.tick(now)
        if self.unsaved is not None and self.clock.ticks_diff(now, self.save_at) >= 0:
            self.persist(self.unsaved, now)  # only the write is retried, never the exchange
        wait = self.clock.ticks_diff(self.wake_at, now)
        if wait > 0:
            return min(wait, 1000)
        if self.state != self._ran:
            # A phase boundary: free the last phase's garbage before the next one allocates,
            # so its long-lived objects land low in the heap instead of among the holes.
            self._ran = self.state
            gc.collect()
        try:
            self._handler(self.state)(self, now)
        except TLSError as e:
            self.clock_suspect(e)
            self.trouble(now, "tls", e)
        except TransportError as e:
            self.trouble(now, "network", e)
        except DeviceFlowError as e:
            self.trouble(now, "error", e)
        except Exception as e:  # noqa: BLE001 -- a board must never crash-loop
            self._crashed(now, e)
        return 0

    def _handler(self, state):
        """The function of `state`, importing its phase's module (and dropping the last one's)."""
        name = STATES[state]
        if name is None:
            return App.halted
        if name != self._phase:
            if self._phase is not None:
                drop(self._phase)
            self._phase = name
        return getattr(__import__(name), state)

    def _crashed(self, now, e):
        """An exception no state expects (a bug, a driver fault, MemoryError). Uncaught, it
        would end main.py, and on a board the watchdog or a soft reset would start the app
        again into the same fault. Log its type only (its text could hold anything), show it,
        back off like a failed exchange, and carry on from the same state."""
        name = type(e).__name__
        reason = "out_of_memory" if isinstance(e, MemoryError) else "unexpected"
        gc.collect()
        self.trouble(now, "error", DeviceFlowError(reason, "unexpected " + name + "; retrying"))

    def press(self, button):
        self.log.event("button", name=button)
        if button == "new_code" and self.state in ("halted", "device_poll"):
            self.goto("device_start")
        elif button == "sign_out" and self.session.record is not None:
            self.goto("sign_out")

    def goto(self, state, delay_ms=0):
        self.state = state
        self.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay_ms)

    def sleep_until(self, until):
        self.wake_at = until

    def halted(self, now):
        self.goto("halted", 3600 * 1000)  # only a button press moves on

    def milestone(self, name):
        if self.on_milestone is not None:
            self.on_milestone(self, name)

    def refresh_now(self):
        """Refresh the tokens at once, then call the API (a run mode's request: --demo)."""
        self.grant = None
        self.api_retry_after_refresh = True
        self.goto("refresh")

    # ---- what every phase shares ------------------------------------------
    def trouble(self, now, kind, err, retry_after=None):
        """A failed exchange: say so, back off (doubling, capped, full jitter, never sooner than
        Retry-After), then retry the same state (unless a run mode ends the run here)."""
        self.log.error(err.reason, detail=err.detail, state=self.state)
        if not self.screen.code_shown:
            self.screen.message(kind, err.detail or err.reason)
        self.milestone("trouble")
        if self.exit_code is not None:
            return
        delay = backoff_ms(2000, self.failures, MAX_BACKOFF_MS, self.rand, retry_after)
        self.failures += 1
        # Counted from now, after the failed exchange: `now` was taken before it, and a request
        # that timed out would otherwise be retried at once.
        self.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay)

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
        if err.reason == "tls_not_yet_valid" and getattr(self.platform, "can_set_clock", False):
            self.log.event("clock_resync", ok=1 if self.platform.set_clock() else 0)

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
        """Write `record` to flash; on a StoreError keep it for a retry with backoff (step())."""
        from deviceflow.errors import StoreError

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

    def forget_tokens(self, now):
        self.unsaved = None  # a pending write must not bring a signed-out record back
        self.session.forget(now)

    def summary(self):
        return {"api_calls": self.api_calls, "refreshes": self.refreshes, "state": self.state}
