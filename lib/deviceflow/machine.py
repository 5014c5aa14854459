# The state machine of a DeviceClient (deviceflow/client.py): everything it does, driven by
# step(), which runs the current state if it is due (at most one HTTP exchange) and returns the
# ms until it wants to run again. DeviceClient adds the blocking and asyncio calls; an app that
# owns its loop (our firmware: firmware/app.py) builds on Machine and never loads their code.
#
# STATES below is the whole state machine. Each state is a function `state(client, now)` in
# the module of its phase: starting (load -> endpoints), signing_in (the code, its screen, the
# signing keys, the polls), accepting (validate, userinfo), saving (store), signed_in (idle,
# refresh) and asked (sign_out). A phase's module is imported when one of its states first runs
# and dropped when another phase's state runs (deviceflow/phase.py): a wake that refreshes never
# loads the sign-in's code, and the sign-in never holds the JWT code and the device flow's code
# together. A subclass may add states (its STATES) and do its own work while the token is good
# (on_idle()).
#
# Events go to on_event(event, **fields), one per step worth knowing (show_code, approved,
# id_token_ok, tokens_stored, signed_in, refreshed, revoked, signed_out, error with reason and
# detail, ...), never a token or device code; the firmware passes its Log instead (log=).
import gc

from deviceflow.clock import backoff_ms
from deviceflow.errors import DeviceFlowError, TLSError, TransportError
from deviceflow.phase import collect, drop

STATES = {
    "load": "deviceflow.starting", "endpoints": "deviceflow.starting",
    "device_start": "deviceflow.signing_in", "show_code": "deviceflow.signing_in",
    "jwks_prefetch": "deviceflow.signing_in", "device_poll": "deviceflow.signing_in",
    "validate": "deviceflow.accepting", "store": "deviceflow.saving", "userinfo": "deviceflow.accepting",
    "idle": "deviceflow.signed_in", "refresh": "deviceflow.signed_in", "sign_out": "deviceflow.asked",
    "halted": None,  # failed for good or signed out: new_code() (or token()) starts again
}
MAX_BACKOFF_MS = 300000


class Machine:
    STATES = STATES  # a subclass's STATES hold the states it adds (firmware/app.py)

    def __init__(self, config=None, **options):
        """See DeviceClient (deviceflow/client.py) and docs/LIBRARY.md.
        config (or keyword options): issuer, client_id, and what docs/LIBRARY.md lists.
        Seams, keyword arguments, all optional: clock (deviceflow.clock), transport
        (deviceflow.http.Transport), state_dir or store (a FlashStore), how the code is shown (show(code) callback, a
        framebuf-like surface, or a screen object like the firmware's Display), on_event,
        rand (-> float in [0, 1), for jitter), set_clock (-> bool: set the wall clock by NTP;
        tried when a certificate is 'not yet valid'), on_milestone(name) ('trouble',
        'flow_failed', 'signed_out'); log: instead of on_event, an object with event(name,
        **fields) and error(reason, detail, **fields), like the firmware's Log."""
        from deviceflow.clientsetup import setup

        setup(self, config, options)  # the keywords are read there: a board keeps no copy of them
        drop("deviceflow.clientsetup")  # its code is needed once

    # ---- driving ----------------------------------------------------------------------
    def step(self):
        """Run the current state if it is due (at most one HTTP exchange); return the ms until
        the next step is wanted (0: at once; while signed in, until the token wants refreshing)."""
        now = self.clock.ticks_ms()
        if self.screen.code_shown:
            self.screen.tick(now)  # the countdown
        self.retry_save(now)
        wait = self.clock.ticks_diff(self.wake_at, now)
        if wait <= 0:
            self._run(now)
            wait = max(0, self.clock.ticks_diff(self.wake_at, self.clock.ticks_ms()))
        return min(wait, 1000) if self.screen.code_shown else wait  # the countdown, each second

    def _run(self, now):
        """Run the current state; what it raises becomes a retry with backoff (trouble)."""
        if self.state != self._ran:
            # A phase boundary: free the last phase's garbage before the next one allocates,
            # so its long-lived objects land low in the heap instead of among the holes.
            self._ran = self.state
            collect()
        try:
            self._handler(self.state)(self, now)
        except TLSError as e:
            from deviceflow.perform import clock_suspect

            clock_suspect(self, e)
            self.trouble(now, "tls", e)
        except TransportError as e:
            self.trouble(now, "network", e)
        except DeviceFlowError as e:
            self.trouble(now, "error", e)
        except Exception as e:  # noqa: BLE001 -- a bug, a driver fault, MemoryError
            # Log its type only (its text could hold anything), back off like a failed
            # exchange, and carry on from the same state.
            reason = "out_of_memory" if isinstance(e, MemoryError) else "unexpected"
            gc.collect()
            err = DeviceFlowError(reason, "unexpected " + type(e).__name__ + "; retrying")
            self.trouble(now, "error", err)

    def _handler(self, state):
        """The function of `state`, importing its phase's module (and dropping the last one's)."""
        name = self.STATES.get(state) or STATES[state]
        if name is None:
            return _halted
        if name != self._phase:
            if self._phase is not None:
                drop(self._phase)
            self._phase = name
        return getattr(__import__(name, None, None, ("x",)), state)

    def refresh_now(self):
        """Refresh the tokens at the next step."""
        self.grant = None
        self.goto("refresh")

    # ---- what the phases share ------------------------------------------------------------
    def goto(self, state, delay_ms=0):
        self.state = state
        self.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay_ms)

    def sleep_until(self, until):
        self.wake_at = until

    def on_idle(self, now):
        """The `idle` state with a good token: sleep until the refresh is due (or the token
        expires, with no refresh token). An app overrides this to do its work meanwhile."""
        s = self.session
        at = s.refresh_at if s.refresh_at is not None else s.deadline
        self.sleep_until(at if at is not None else self.clock.ticks_add(now, 3600000))

    def halt(self, failure=None):
        """Stop until new_code() (the app: a button press); token() raises `failure`."""
        self.failure = failure
        self.goto("halted", 3600 * 1000)

    def trouble(self, now, kind, err, retry_after=None):
        """A failed exchange: say so, back off (doubling, capped, full jitter, never sooner than
        Retry-After), then retry the same state."""
        self.log.error(err.reason, detail=err.detail, state=self.state)
        if not self.screen.code_shown:
            self.screen.message(kind, err.detail or err.reason)
        if self.on_milestone is not None:
            self.on_milestone("trouble")
        delay = backoff_ms(2000, self.failures, MAX_BACKOFF_MS, self.rand, retry_after)
        self.failures += 1
        # Counted from now, after the failed exchange: `now` was taken before it, and a request
        # that timed out would otherwise be retried at once.
        self.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay)

    def exchange(self, method, url, headers=None, body=None):
        resp = self.http.request(method, url, headers, body)
        self.failures = 0
        return resp

    def retry_save(self, now, force=False):
        """Write a record whose write failed once more, when its backoff is over (or now:
        `force`, before a deep sleep RAM does not survive). Only the write, never the exchange."""
        if self.unsaved is not None and (force or self.clock.ticks_diff(now, self.save_at) >= 0):
            from deviceflow.saving import persist

            persist(self, self.unsaved, now)
            del persist
            drop("deviceflow.saving")

    def forget_tokens(self, now):
        self.unsaved = None  # a pending write must not bring a signed-out record back
        self.session.forget(now)


def _halted(client, now):
    client.goto("halted", 3600 * 1000)  # only new_code() moves on


def _no_jitter():
    return 0.0
