# The app: the library's DeviceClient (lib/deviceflow/client.py) for the sign-in and the
# tokens, plus what a device adds: its boot (network, clock), the API it calls on a timer,
# the buttons and the run modes. A non-blocking state machine driven by one loop tick.
#
# Each call to step() does at most one HTTP exchange (bounded by the transport's timeout) and
# returns how many ms it may sleep before the next call; between steps the main loop keeps the
# countdown, buttons and watchdog going.
#
# STATES below is the app's whole state machine: each state is a function `state(app, now)`
# in the module of its phase: booting (start -> network -> clock) and signedin (api, idle).
# In "auth" the client steps its own machine (deviceflow/client.py STATES: sign-in, refresh,
# sign-out) until its access token is good. A phase's module is imported when one of its states
# first runs and dropped when another phase runs (deviceflow/phase.py).
import gc

from deviceflow.client import DeviceClient
from deviceflow.phase import drop

STATES = {
    "start": "booting", "network": "booting", "clock": "booting",
    "auth": None,  # the DeviceClient's turn: signing in, refreshing, signing out, halted
    "api": "signedin", "idle": "signedin",
}


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
        set_clock = platform.set_clock if getattr(platform, "can_set_clock", False) else None
        self.client = DeviceClient(cfg, clock=clock, transport=transport, store=store, screen=screen,
                                   on_event=log.event, rand=rand, set_clock=set_clock,
                                   on_milestone=self.milestone, sign_in_spread_s=cfg["api_spread_s"])
        self.session = self.client.session
        self._state = "start"
        self.wake_at = clock.ticks_ms()
        self.exit_code = None
        self.api_retry_after_refresh = False  # the API refused the token: call it again once refreshed
        self.api_at = None  # ticks of the next API call
        self.api_calls = 0
        self.clock_tries = 0  # failed NTP attempts in a row
        self._signins = 0  # the client's sign-ins the API loop has seen
        self._ran = None  # the state whose step ran last
        self._phase = None  # the module of the phase that ran last

    @property
    def state(self):
        """The app's state; while the client has its turn, the client's (device_poll, halted...)."""
        return self.client.state if self._state == "auth" else self._state

    @property
    def refreshes(self):
        return self.client.refreshes

    # ---- driving -------------------------------------------------------
    def step(self):
        """Run the current state once if it is due; return ms until the next step is wanted."""
        now = self.clock.ticks_ms()
        c = self.client
        if self.screen.code_shown:
            self.screen.tick(now)
        c.retry_save(now)  # only the write is retried, never the exchange
        if self._state == "auth":
            c.step()
            self.wake_at = c.wake_at
            if c.ready():
                self._api_schedule(now)
                self.goto("idle")
                return 0
        wait = self.clock.ticks_diff(self.wake_at, now)
        if wait > 0:
            return min(wait, 1000)
        if self._state == "auth":
            return 0
        if self._state != self._ran:
            # A phase boundary: free the last phase's garbage before the next one allocates.
            self._ran = self._state
            gc.collect()
        c.run(self._handler(self._state), self, now)
        return 0

    def _handler(self, state):
        """The function of `state`, importing its phase's module (and dropping the last one's)."""
        name = STATES[state]
        if name != self._phase:
            if self._phase is not None:
                drop(self._phase)
            self._phase = name
            self.client.drop_phase()  # one phase's code in the heap at a time
        return getattr(__import__(name), state)

    def _api_schedule(self, now):
        """When the API is called next, now that the client has a good token."""
        c = self.client
        if self.api_retry_after_refresh or c.signins != self._signins:
            self.api_at = now  # a refused call again, or the first call after a sign-in
        elif self.api_at is None and c.refreshes:
            self.api_at = now  # refreshed at boot: the token was old, so is the last call
        elif self.api_at is None:
            # Signed in from flash: the first call lands at a random point of api_spread_s, so
            # devices that boot together do not all call the API in the same second.
            from deviceflow.clock import span  # every config span is clamped to the tick range

            self.api_at = self.clock.ticks_add(now, int(self.rand() * span(self.cfg["api_spread_s"] * 1000)))
        self._signins = c.signins

    def auth(self, now=None):
        """Give the client its turn (the token is due, gone, or the user asked for something)."""
        if self._phase is not None:
            drop(self._phase)
            self._phase = None
        self._state = "auth"
        self._ran = None
        self.wake_at = self.clock.ticks_ms()

    def press(self, button):
        self.log.event("button", name=button)
        c = self.client
        if button == "new_code" and c.state in ("halted", "device_poll"):
            c.new_code()
            self.auth()
        elif button == "sign_out" and c.session.record is not None:
            c.sign_out(wait=False)
            self.auth()

    def goto(self, state, delay_ms=0):
        if state == "auth":
            self.auth()
            return
        self._state = state
        self.wake_at = self.clock.ticks_add(self.clock.ticks_ms(), delay_ms)

    def sleep_until(self, until):
        self.wake_at = until

    def milestone(self, name):
        if self.on_milestone is not None:
            self.on_milestone(self, name)

    def refresh_now(self):
        """Refresh the tokens at once, then call the API (a run mode's request: --demo)."""
        self.api_retry_after_refresh = True
        self.client.refresh_now()
        self.auth()

    def summary(self):
        return {"api_calls": self.api_calls, "refreshes": self.client.refreshes, "state": self.state}
