# Start-up, run once by start.run: the options, the config, the board, the transport, the
# display, safe boot, the platform, the device key and the token store, then the App. Its own
# module so that its code leaves the heap once the app runs (deviceflow/phase.py).
import sys

from log import Log
from deviceflow.clock import SystemClock
from deviceflow.errors import ConfigError, StoreError
from deviceflow.phase import drop

ON_HOST = sys.platform in ("linux", "darwin", "win32")


def _args(argv):
    opts = {"config": "config.json", "once": False, "demo": False, "ticks_start": None, "wall": True}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--config" and i + 1 < len(argv):
            opts["config"] = argv[i + 1]
            i += 1
        elif a in ("--once", "--demo"):
            opts[a[2:]] = True
        elif a == "--ticks-start" and i + 1 < len(argv):
            opts["ticks_start"] = int(argv[i + 1])
            i += 1
        elif a == "--no-wall-clock":
            opts["wall"] = False
        i += 1
    return opts


def _machine():
    if ON_HOST:
        return None
    import machine

    return machine


def _board(name):
    return __import__(name).build(_machine())


def _platform(cfg, board, log):
    if ON_HOST:
        from platform_unix import UnixPlatform

        return UnixPlatform()
    from platform_esp32 import Esp32Platform

    return Esp32Platform(cfg, board, log)  # grows the heap, then starts the watchdog


def _halt(code):
    """Host: the exit code. Board: never return (sys.exit() would soft-reset into a loop)."""
    if ON_HOST:
        return code
    from platform_esp32 import idle_forever

    idle_forever(_machine())


def _safe_boot(path, board, display, clock, log):
    """On a board, before the watchdog starts: safe boot (firmware/safeboot.py) runs nothing."""
    if ON_HOST:
        return False
    from safeboot import enter_if_asked

    return enter_if_asked(path, board, display, clock, log, _machine())


def _board_name_anyway(path):
    """The board named in a config that failed validation, so the error reaches its screen."""
    try:
        import json

        with open(path) as f:
            name = json.load(f).get("board")
        return name if isinstance(name, str) else "unix"
    except Exception:
        return "unix"


def _config_failed(log, clock, err, path):
    from display import Display

    log.error("config", key=err.reason, detail=err.detail)
    board = display = None
    try:
        board = _board(_board_name_anyway(path))
        display = Display(board.display, clock, log)
        display.message("config", err.detail)
    except Exception:
        pass
    if _safe_boot(path, board, display, clock, log):  # even without a screen: deploy relies on it
        return 2
    return _halt(2)


def build(argv):
    """The app and what its loop needs, or an exit code when it cannot start."""
    opts = _args(argv)
    log = Log()
    clock = SystemClock()
    if opts["ticks_start"] is not None or not opts["wall"]:
        start = opts["ticks_start"]
        clock = SystemClock(offset=None if start is None else start - clock.ticks_ms(), wall=opts["wall"])
    import config as config_file

    try:
        cfg = config_file.load(opts["config"])
    except ConfigError as e:
        return _config_failed(log, clock, e, opts["config"])
    log.event("boot", **config_file.describe(cfg))
    del config_file
    drop("config")
    board = _board(cfg["board"])
    from deviceflow.http import Transport

    transport = Transport(ca_file=cfg["ca_file"], allow_insecure_http=cfg["allow_insecure_http"],
                          timeout_ms=cfg["http_timeout_s"] * 1000)
    from display import Display

    display = Display(board.display, clock, log)
    if _safe_boot(opts["config"], board, display, clock, log):
        return 0
    platform = _platform(cfg, board, log)
    platform.start_radio()  # the hardware RNG has real entropy only with the radio on
    state = cfg["state_dir"]
    from deviceflow.store import TokenStore, load_or_create_key

    try:
        key = load_or_create_key(state + "/device.key", platform.urandom)
        TokenStore(state + "/tokens.json", key)  # refuses a key too short to tag with
    except StoreError as e:
        log.error("store", detail=e.detail)
        display.message("error", "Cannot use flash storage: " + e.detail)
        return platform.halt(5)
    del TokenStore, load_or_create_key
    drop("deviceflow.store", "deviceflow.hmac_sha256")
    from deviceflow.flashstore import FlashStore

    store = FlashStore(state + "/tokens.json", key)
    from app import App
    from buttons import ButtonWatcher
    from rng import Rng

    seed = cfg["seed"] if cfg["seed"] is not None else platform.random_seed()
    from start import run_mode

    app = App(cfg, clock, transport, store, display, log, Rng(seed), platform,
              run_mode(opts["once"], opts["demo"]))
    del store, key
    watcher = ButtonWatcher(board.buttons, clock)
    return app, watcher, platform, clock, transport, log
