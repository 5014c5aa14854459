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


def run_mode(once, demo):
    """The app's on_milestone hook for --once / --demo (None: run for ever, as a device does)."""
    if once:
        return _once
    return _demo if demo else None


def _once(app, milestone):
    # The first API call or a sign-out ends the run well; a failed exchange (4) or a
    # sign-in that failed for good (3) ends it at once, with no retry.
    app.exit_code = {"trouble": 4, "flow_failed": 3}.get(milestone, 0)


def _demo(app, milestone):
    # Sign in, call the API, refresh (shown in the log), call it again, exit 0.
    if milestone == "api_ok" and app.refreshes == 0 and app.session.refresh_token():
        app.api_retry_after_refresh = True  # the API again once refreshed
        app.refresh_now()
    elif milestone == "api_ok" and app.refreshes:
        app.exit_code = 0


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
    log.event("exit", code=app.exit_code, api_calls=app.api_calls, refreshes=app.refreshes,
              handshakes=transport.handshakes)
    return app.exit_code

