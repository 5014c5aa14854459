# Building a DeviceClient (deviceflow/machine.py Machine): its config and its seams, with the defaults a
# caller may leave out. Its own module because its code is needed once: the client drops it
# after construction (deviceflow/phase.py), and a board's heap keeps only the client's steps.
# Nothing built here may be a function or class of this module: it would keep the whole module
# alive.
from deviceflow.errors import ConfigError
from deviceflow.session import Session

# What a config may leave out (the firmware's config.py checks and fills in the rest).
DEFAULTS = {"provider": "auto", "state_dir": ".", "refresh_margin_s": 60, "refresh_window_s": 600,
            "refresh_spread_s": 0, "sign_in_spread_s": 0, "timeout_ms": 10000}


SEAMS = ("clock", "transport", "state_dir", "show", "surface", "on_event", "store", "screen", "rand",
         "set_clock", "on_milestone", "log")


def setup(c, config, options):
    """Machine.__init__(config=None, **options): the seams (SEAMS) out of `options`; the rest
    is config."""
    seams = dict((name, options.pop(name, None)) for name in SEAMS)
    clock, transport, state_dir = seams["clock"], seams["transport"], seams["state_dir"]
    store, screen, log = seams["store"], seams["screen"], seams["log"]
    cfg = dict(DEFAULTS)
    cfg.update(config or {})
    cfg.update(options)
    if state_dir:
        cfg["state_dir"] = state_dir
    for key in ("issuer", "client_id"):
        if not isinstance(cfg.get(key), str) or not cfg[key]:
            raise ConfigError(key, "required")
    c.cfg = cfg
    if clock is None:
        from deviceflow.clock import SystemClock
        clock = SystemClock()
    c.clock = clock
    if transport is None:
        from deviceflow.http import Transport
        transport = Transport(ca_file=cfg.get("ca_file"), timeout_ms=cfg["timeout_ms"])
    c.http = transport
    if screen is None:
        from deviceflow.callbackscreen import CallbackScreen
        screen = CallbackScreen(seams["show"], seams["surface"])
    c.screen = screen
    from deviceflow.machine import _no_jitter

    if log is None:
        from deviceflow.events import Events

        log = Events(seams["on_event"])
    c.log = log
    c.rand = seams["rand"] or _no_jitter
    c.set_clock = seams["set_clock"]
    c.on_milestone = seams["on_milestone"]
    if store is None:
        from deviceflow.flashstore import in_dir

        store = in_dir(cfg["state_dir"])
    # A sensor's wakes are already spread by its sleeps, and waiting awake for a spread
    # refresh point costs battery: it refreshes at once when the token is due.
    spread = 0 if cfg.get("mode") == "sensor" else cfg["refresh_spread_s"]
    c.session = Session(clock, c.rand, cfg["refresh_margin_s"], cfg["refresh_window_s"], spread, store)
    from deviceflow.endpoints import Endpoints

    c.endpoints = Endpoints(cfg, transport, c.log, store)
    c.state = "load"
    c.wake_at = clock.ticks_ms()
    c.loaded = False  # the stored record was read (starting.load)
    c.failure = None  # why the client halted (a DeviceFlowError), for token() to raise
    c.flow = None  # the DeviceFlow under way
    c.grant = None  # the RefreshGrant under way; None: the refresh state starts one
    c.pending = None  # what the next state works on: the code to show, the tokens to check
    c.jwks_refetched = False
    c.keys = None  # the provider's signing keys while a sign-in needs them (accepting)
    c.jwks_fetched = False  # the JWKS is in its file, fetched in this run (keys.py)
    c.failures = 0  # consecutive failed exchanges outside the engines
    c.busy_refusals = 0  # consecutive "not now" failures of the device flow (signing_in)
    c.signins = 0
    c.refreshes = 0
    c.unsaved = None  # a token record in use whose write to flash failed (persist)
    c.save_at = None  # ticks of the next write attempt
    c.save_failures = 0
    c._ran = None  # the state whose step ran last
    c._phase = None  # the module of the phase that ran last
