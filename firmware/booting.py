# The boot phase of the app (firmware/app.py STATES): start -> network -> clock (a board
# sets its clock before any HTTPS), then the DeviceClient's own states from `load` (the stored
# sign-in, the endpoints, then a refresh or a sign-in if the token is not good). Each function
# is one state: `state(app, now)`.
from deviceflow.clock import backoff_ms


def start(app, now):
    app.screen.message("starting")
    app.goto("network")


def network(app, now):
    if not app.platform.network_up():
        app.screen.message("connecting")
        app.goto("network", 500)
        return
    app.log.event("network_up")
    if app.clock.time() is None and getattr(app.platform, "can_set_clock", False):
        app.goto("clock")  # a board: no HTTPS before the clock is set
        return
    if app.clock.time() is None and not app.platform.set_clock():
        app.log.error("clock_unset", detail="wall clock not set; token expiry is checked by ticks only")
    app.goto("load")


def clock(app, now):
    """mbedTLS on an ESP32 checks certificate dates against the RTC, which reads 2000 after
    power-up: every certificate is 'not yet valid' until NTP has set it. Retry with backoff
    (from 1 s, doubling, capped at a minute) until it is; nothing goes over HTTPS before."""
    app.screen.message("clock")
    if app.platform.set_clock() and app.clock.time() is not None:
        app.log.event("clock_set", tries=app.failures + 1)
        app.failures = 0
        app.goto("load")
        return
    delay = backoff_ms(1000, app.failures, 60000, app.rand)  # no exchange has failed yet: NTP's count
    app.failures += 1
    app.log.error("clock_unset", detail="NTP failed; retrying", tries=app.failures, retry_ms=delay)
    app.goto("clock", delay)
