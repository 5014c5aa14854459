# What main.py starts, on a board (boot runs main.py) and on the Unix port:
#   micropython firmware/main.py [--config config.json] [--once] [--demo]
# It lives here, not in main.py, because main.py is a source file that the board compiles into
# RAM at every boot; this module is compiled (.mpy) or frozen into flash like the rest.
# --once: exit 0 after the first successful API call, non-zero on a failure.
# --demo: sign in, call the API, refresh, call it again, exit 0 with a summary.
# Test hooks (Unix port): --ticks-start N makes the tick counter read N at boot and wrap
# at 2^30 like an ESP32's; --no-wall-clock runs as if NTP never set the clock.
#
# start-up itself (firmware/startup.py: config, board, transport, display, store, App) is
# dropped once the app runs (deviceflow/phase.py); this module keeps only the loop.
import sys

from deviceflow.phase import drop

ON_HOST = sys.platform in ("linux", "darwin", "win32")


def run(argv):
    import startup

    built = startup.build(argv)
    del startup
    drop("startup", "config")
    if isinstance(built, int):
        return built
    return loop(*built)


def loop(app, watcher, platform, clock, transport, log):
    """Step the app, pass on the buttons, feed the watchdog; until the app has an exit code."""
    while app.exit_code is None:
        wait = app.step()
        for name in watcher.poll() + platform.pressed():
            if name == "quit":
                app.exit_code = 0
                break
            app.press(name)
        platform.feed_watchdog()
        if wait > 0 and app.exit_code is None:
            clock.sleep_ms(min(wait, 50))
    transport.close()
    s = app.summary()
    log.event("exit", code=app.exit_code, api_calls=s["api_calls"], refreshes=s["refreshes"],
              handshakes=transport.handshakes)
    return app.exit_code

