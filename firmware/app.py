# The app: the library's state machine (deviceflow.machine.Machine, which DeviceClient drives
# with its blocking and asyncio calls) with what a device adds: its boot (network, then the
# clock before any HTTPS), the API it calls on a timer while the token is good, the buttons and
# the run modes. The machine does the sign-in, the ID-token check, the store and the refreshes;
# its screen is the board's Display and its events go to the log.
#
# One state machine driven by one loop tick: each step() does at most one HTTP exchange
# (bounded by the transport's timeout) and returns how many ms it may sleep; between steps the
# main loop keeps the countdown, buttons and watchdog going. App.STATES are the states the app
# adds to Machine's, each a function `state(app, now)` in the module of its phase: booting
# (start -> network -> clock, then the machine's `load`) and signedin (api). The machine's
# `idle` state calls on_idle() below while the token is good.
from deviceflow.machine import Machine
from deviceflow.phase import drop


class App(Machine):
    STATES = {"start": "booting", "network": "booting", "clock": "booting", "api": "signedin"}  # and Machine's

    def __init__(self, cfg, clock, transport, store, screen, log, rand, platform, on_milestone=None):
        set_clock = platform.set_clock if getattr(platform, "can_set_clock", False) else None
        # on_milestone(app, name): a run mode's hook (firmware/start.py: --once, --demo), told of
        # "trouble", "flow_failed", "api_ok" and "signed_out"; it may set exit_code or refresh_now().
        hook = (lambda name: on_milestone(self, name)) if on_milestone else None
        Machine.__init__(self, cfg, clock=clock, transport=transport, store=store, screen=screen, log=log,
                         rand=rand, set_clock=set_clock, on_milestone=hook, sign_in_spread_s=cfg["api_spread_s"])
        self.platform = platform
        self.state = "start"
        self.exit_code = None
        self.api_retry_after_refresh = False  # the API refused the token: call it again once refreshed
        self.api_at = None  # ticks of the next API call
        self.api_calls = 0
        self.signins_seen = 0  # the sign-ins the API schedule has seen

    def on_idle(self, now):
        """The token is good: call the API when it is due (firmware/signedin.py)."""
        from signedin import on_idle

        on_idle(self, now)

    def press(self, button):
        self.log.event("button", name=button)
        if button == "new_code" and self.state in ("halted", "device_poll"):
            from deviceflow.asked import new_code

            new_code(self)
            del new_code
            drop("deviceflow.asked")
        elif button == "sign_out" and self.session.record is not None:
            from deviceflow.asked import start_sign_out

            start_sign_out(self)
            del start_sign_out
            drop("deviceflow.asked")
