# The app: a non-blocking state machine driven by one loop tick.
#
# Each call to step() does at most one HTTP exchange (bounded by the transport's
# timeout) and returns how many ms it may sleep before the next call; between
# steps the main loop keeps the countdown, buttons and watchdog going. OAuth
# replies are never parsed here: the flow engine and refresh grant decide, the
# app only carries out their actions (send, wait, show, store).
#
# What only one phase needs is imported when the phase starts (deviceflow/phase.py): a wake
# that refreshes never loads the device flow, the QR encoder or the JWT checks.
import gc

from deviceflow.actions import backoff_ms
from deviceflow.errors import DeviceFlowError, TLSError, TransportError
from session import Session
from endpoints import Endpoints
from signin import MAX_BACKOFF_MS, SignIn



class App(SignIn):
    def __init__(self, cfg, clock, transport, store, screen, log, rand, platform,
                 once=False, demo=False):
        self.cfg = cfg
        self.clock = clock
        self.http = transport
        self.store = store
        self.screen = screen
        self.log = log
        self.rand = rand
        self.platform = platform
        self.once = once
        self.demo = demo
        # A sensor's wakes are already spread by its sleeps, and waiting awake for a spread
        # refresh point costs battery: it refreshes at once when the token is due.
        spread = 0 if cfg.get("mode") == "sensor" else cfg.get("refresh_spread_s", 0)
        self.session = Session(clock, rand, cfg["refresh_margin_s"], cfg["refresh_window_s"], spread)
        self.endpoints = Endpoints(cfg, transport, log, store)
        self.state = "start"
        self.wake_at = clock.ticks_ms()
        self.exit_code = None
        self.flow = None
        self.grant = None
        self.pending = None  # TokensReady awaiting validation
        self.jwks_refetched = False
        self.api_retry_after_refresh = False
        self.api_at = None
        self.failures = 0  # consecutive failed exchanges outside the engines
        self.api_calls = 0
        self.refreshes = 0
        self.code_expires_at = None
        self.busy_refusals = 0  # consecutive "not now" failures of the device flow (signin._RETRY_LATER)
        self.clock_tries = 0  # failed NTP attempts in a row
        self.unsaved = None  # a token record in use whose write to flash failed (signin._persist)
        self.save_at = None  # ticks of the next write attempt
        self.save_failures = 0
        self._ran = None  # the state whose step ran last

    # ---- driving -------------------------------------------------------
    def step(self):
        """Run the current state once if it is due; return ms until the next step is wanted."""
        now = self.clock.ticks_ms()
        if self.screen.code_shown:
            self.screen.tick(now)
        if self.unsaved is not None and self.clock.ticks_diff(now, self.save_at) >= 0:
            self._persist(self.unsaved, now)  # only the write is retried, never the exchange
        wait = self.clock.ticks_diff(self.wake_at, now)
        if wait > 0:
            return min(wait, 1000)
        if self.state != self._ran:
            # A phase boundary: free the last phase's garbage before the next one allocates,
            # so its long-lived objects land low in the heap instead of among the holes.
            self._ran = self.state
            gc.collect()
        try:
            getattr(self, "_" + self.state)(now)
        except TLSError as e:
            self._clock_suspect(e)
            self._trouble(now, "tls", e)
        except TransportError as e:
            self._trouble(now, "network", e)
        except DeviceFlowError as e:
            self._trouble(now, "error", e)
        except Exception as e:  # noqa: BLE001 -- a board must never crash-loop
            self._crashed(now, e)
        return 0

    def _crashed(self, now, e):
        """An exception no state expects (a bug, a driver fault, MemoryError). Uncaught, it
        would end main.py, and on a board the watchdog or a soft reset would start the app
        again into the same fault. Log its type only (its text could hold anything), show it,
        back off like a failed exchange, and carry on from the same state."""
        name = type(e).__name__
        reason = "out_of_memory" if isinstance(e, MemoryError) else "unexpected"
        gc.collect()
        self._trouble(now, "error", DeviceFlowError(reason, "unexpected " + name + "; retrying"))

    def press(self, button):
        self.log.event("button", name=button)
        if button == "new_code" and self.state in ("halted", "device_poll"):
            self._goto("device_start")
        elif button == "sign_out" and self.session.record is not None:
            self._goto("sign_out")

    def _goto(self, state, delay_ms=0):
        self.state = state
        self.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay_ms)

    def _sleep_until(self, until):
        self.wake_at = until

    def _trouble(self, now, kind, err, retry_after=None):
        """A failed exchange: say so, back off (doubling, capped, full jitter, never sooner than
        Retry-After), then retry the same state. With --once, give up instead."""
        self.log.error(err.reason, detail=err.detail, state=self.state)
        if not self.screen.code_shown:
            self.screen.message(kind, err.detail or err.reason)
        if self.once:
            self.exit_code = 4
            return
        delay = backoff_ms(2000, self.failures, MAX_BACKOFF_MS, self.rand, retry_after)
        self.failures += 1
        # Counted from now, after the failed exchange: `now` was taken before it, and a request
        # that timed out would otherwise be retried at once.
        self.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay)

    def _server_trouble(self, resp, state):
        """An answer the engine retries later (5xx, 429, an error or portal page, a reply that
        is no OAuth reply): log it and, unless the code is on screen, show it."""
        reason = "server_busy" if resp.status == 429 or resp.status >= 500 else "bad_reply"
        detail = "server answered HTTP %d; retrying later" % resp.status
        self.log.error(reason, detail=detail, status=resp.status, state=state)
        if not self.screen.code_shown:
            self.screen.message("network", detail)

    def _exchange(self, method, url, headers=None, body=None):
        resp = self.http.request(method, url, headers, body)
        self.failures = 0
        return resp

    # ---- boot ----------------------------------------------------------
    def _start(self, now):
        self.screen.message("starting")
        self._goto("network")

    def _network(self, now):
        if not self.platform.network_up():
            self.screen.message("connecting")
            self._goto("network", 500)
            return
        self.log.event("network_up")
        if self.clock.time() is None and getattr(self.platform, "can_set_clock", False):
            self._goto("clock")  # a board: no HTTPS before the clock is set
            return
        if self.clock.time() is None and not self.platform.set_clock():
            self.log.error("clock_unset", detail="wall clock not set; token expiry is checked by ticks only")
        self._goto("load")

    def _clock(self, now):
        """mbedTLS on an ESP32 checks certificate dates against the RTC, which reads 2000 after
        power-up: every certificate is 'not yet valid' until NTP has set it. Retry with backoff
        (from 1 s, doubling, capped at a minute) until it is; nothing goes over HTTPS before."""
        self.screen.message("clock")
        if self.platform.set_clock() and self.clock.time() is not None:
            self.log.event("clock_set", tries=self.clock_tries + 1)
            self.clock_tries = 0
            self._goto("load")
            return
        delay = backoff_ms(1000, self.clock_tries, 60000, self.rand)
        self.clock_tries += 1
        self.log.error("clock_unset", detail="NTP failed; retrying", tries=self.clock_tries, retry_ms=delay)
        self._goto("clock", delay)

    def _clock_suspect(self, err):
        """A certificate 'not valid yet' on a board means the RTC is wrong (never set, or reset):
        ask NTP again at once; the failed exchange is retried by its own backoff."""
        if err.reason == "tls_not_yet_valid" and getattr(self.platform, "can_set_clock", False):
            self.log.event("clock_resync", ok=1 if self.platform.set_clock() else 0)

    def _load(self, now):
        record = self.store.load()
        if record is None and self.store.last_error:
            self.log.error("store_" + self.store.last_error, detail="stored sign-in unreadable; signing in again")
            self.store.clear()
        if record is not None:
            from session import foreign

            why = foreign(record, self.endpoints.binding())
            if why:
                # Another tenant's, client's or grant's sign-in (a re-provisioned device): its
                # tokens must never be sent, not even to their own provider.
                self.log.event("state_discarded", what="tokens", reason=why)
                self.store.clear()
                record = None
        self.session.adopt(record, False, now)
        self.log.event("tokens_loaded" if record else "no_tokens")
        self._goto("endpoints")

    def _endpoints(self, now):
        self.endpoints.resolve(now)  # one exchange at most (discovery), cached in flash
        self._decide(now)

    def _decide(self, now):
        s = self.session
        from deviceflow.clock import span  # every config span is clamped to the tick range

        if s.access_valid(now) and not s.refresh_due(now):
            spread = span(self.cfg["api_spread_s"] * 1000)
            self.api_at = self.clock.ticks_add(now, int(self.rand() * spread))
            self.screen.message("success", s.record.get("name"))
            self._goto("idle")
        elif s.refresh_token():
            self.api_at = now
            if s.refresh_at is None or s.refresh_due(now):
                self._start_refresh(now)
            else:
                # Expired while the power was off: refresh at the random boot-spread point.
                self.screen.message("success", s.record.get("name"))
                self._goto("idle")
        else:
            # Not signed in: ask for a code after a random part of api_spread_s, so devices
            # that boot together do not all poll the token endpoint in the same second.
            self._goto("device_start", int(self.rand() * span(self.cfg["api_spread_s"] * 1000)))

    # ---- the API ---------------------------------------------------------
    def _api(self, now):
        if not self.session.access_valid(now) and self.session.refresh_token():
            # Retrying after an outage: an access token that expired meanwhile is refreshed
            # first rather than sent to earn a 401.
            self.api_retry_after_refresh = True
            self._start_refresh(now)
            return
        token = self.session.access_token()
        if self.cfg["mode"] == "sensor":
            body = self.platform.reading()
            resp = self._exchange("POST", self.cfg["api_url"], {"Authorization": "Bearer " + token,
                                  "Content-Type": "application/json"}, body)
        else:
            resp = self._exchange("GET", self.cfg["api_url"], {"Authorization": "Bearer " + token,
                                  "Accept": "application/json"})
        if resp.status == 401:
            self.log.error("api_unauthorized", status=401)
            if not self.api_retry_after_refresh and self.session.refresh_token():
                self.api_retry_after_refresh = True
                self._start_refresh(now)
            else:
                self.api_retry_after_refresh = False
                self._forget_tokens(now)
                self._goto("device_start")
            return
        if resp.status >= 400:
            from deviceflow.replies import retry_after_ms

            err = TransportError("api_status", "API answered HTTP %d" % resp.status)
            self._trouble(now, "network" if resp.status >= 429 else "error", err, retry_after_ms(resp.headers))
            return
        self.api_retry_after_refresh = False
        self.api_calls += 1
        self.log.event("api_ok", status=resp.status, bytes=len(resp.body))
        self.screen.message("success", self.session.record.get("name"))  # clears a past error
        self._after_api(now)

    def _after_api(self, now):
        if self.cfg["mode"] == "sensor":
            if self.unsaved is not None:
                self._persist(self.unsaved, now)  # RAM does not survive deep sleep: one more try
            self.log.event("sleep", seconds=self.cfg["sleep_s"])
            self.exit_code = 0
            self.platform.deep_sleep(self.cfg["sleep_s"])
            return
        if self.once:
            self.exit_code = 0
            return
        if self.demo and self.refreshes == 0 and self.session.refresh_token():
            self._start_refresh(now)  # show a refresh, then one more API call, then exit
            self.api_retry_after_refresh = True
            return
        if self.demo and self.refreshes:
            self.exit_code = 0
            return
        from deviceflow.clock import span  # an interval of days must not overflow a tick sum

        self.api_at = self.clock.ticks_add(now, span(self.cfg["api_interval_s"] * 1000))
        self._goto("idle")

    def _idle(self, now):
        s = self.session
        if s.refresh_due(now):
            self._start_refresh(now)
        elif not s.access_valid(now):
            if s.refresh_token() and s.refresh_at is not None:
                self._sleep_until(s.refresh_at)  # the boot spread: no token request before it
            elif s.refresh_token():
                self._start_refresh(now)
            else:
                self._goto("device_start")
        elif self.api_at is None or self.clock.ticks_diff(now, self.api_at) >= 0:
            self._goto("api")
        else:
            nxt = self.api_at
            if s.refresh_at is not None and (nxt is None or self.clock.ticks_diff(s.refresh_at, nxt) < 0):
                nxt = s.refresh_at
            self._sleep_until(nxt if nxt is not None else self.clock.ticks_add(now, 60000))

    # ---- refresh ---------------------------------------------------------
    def _start_refresh(self, now):
        from deviceflow.refresh import RefreshGrant

        self.grant = RefreshGrant(self.clock, self.cfg["client_id"], self.endpoints.get("token_endpoint"),
                                  self.session.refresh_token(), extra_params=self.endpoints.poll_params(),
                                  max_backoff_ms=MAX_BACKOFF_MS, jitter=self.rand,
                                  spread_ms=self.session.spread_ms)
        self.state = "refresh"
        self._refresh_action(now, self.grant.start(now))

    def _refresh(self, now):
        self._refresh_action(now, self.grant.next_action(now))

    def _refresh_action(self, now, action):
        kind = action.kind
        if kind == "send":
            return self._refresh_action(now, self._perform(self.grant, action, "refresh"))
        if kind == "wait":
            self._sleep_until(action.until)
        elif kind == "tokens":
            self._save(now, action.tokens, None, fresh=True)
            self.refreshes += 1
            self.log.event("refreshed", rotated=1 if action.rotated else 0)
            self.screen.message("success", self.session.record.get("name"))
            if self.api_retry_after_refresh or self.demo:
                self._goto("api")
            else:
                self._goto("idle")
        elif kind == "failed":
            self.log.error(action.reason, detail=action.description, state="refresh")
            if action.reason == "invalid_grant":
                # The grant is gone (revoked, expired, reused): start over with the reason on screen.
                self._forget_tokens(now)
                self.screen.message("error", "Signed out by the provider. Sign in again.")
                self._goto("device_start", 3000)
            else:
                self.screen.message("provider", action.description)
                self._goto("halted")

    def _forget_tokens(self, now):
        self.unsaved = None  # a pending write must not bring a signed-out record back
        self.store.clear()
        self.session.adopt(None, False, now)

    # ---- sign out ----------------------------------------------------------
    def _sign_out(self, now):
        rt = self.session.refresh_token()
        url = self.endpoints.get("revocation_endpoint")
        if rt and url:
            from deviceflow.form import urlencode
            body = urlencode([("token", rt), ("token_type_hint", "refresh_token"),
                              ("client_id", self.cfg["client_id"])])
            try:
                resp = self._exchange("POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, body)
                self.log.event("revoked", status=resp.status)
            except TransportError as e:
                self.log.error(e.reason, detail="revocation failed; wiping the device anyway")
        self._forget_tokens(now)
        self.log.event("signed_out")
        self.screen.message("signed_out")
        if self.once:
            self.exit_code = 0
        self._goto("halted")

    def summary(self):
        return {"api_calls": self.api_calls, "refreshes": self.refreshes, "state": self.state}
