# The boot phase of the app (firmware/app.py STATES): start -> network -> clock (a board
# sets its clock before any HTTPS) -> load (the stored sign-in, if it is this tenant's) ->
# endpoints (profile, config and discovery), which decides: the API, a refresh, or a sign-in.
# Each function is one state: `state(app, now)`.
from deviceflow.clock import backoff_ms
from deviceflow.phase import drop


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
        app.log.event("clock_set", tries=app.clock_tries + 1)
        app.clock_tries = 0
        app.goto("load")
        return
    delay = backoff_ms(1000, app.clock_tries, 60000, app.rand)
    app.clock_tries += 1
    app.log.error("clock_unset", detail="NTP failed; retrying", tries=app.clock_tries, retry_ms=delay)
    app.goto("clock", delay)


def load(app, now):
    why = app.session.load(now, app.endpoints.binding())
    if why and why[0] == "store":
        app.log.error("store_" + why[1], detail="stored sign-in unreadable; signing in again")
    elif why:
        # Another tenant's, client's or grant's sign-in (a re-provisioned device): its
        # tokens must never be sent, not even to their own provider.
        app.log.event("state_discarded", what="tokens", reason=why[1])
    app.log.event("tokens_loaded" if app.session.record else "no_tokens")
    app.goto("endpoints")


def endpoints(app, now):
    from resolver import resolve

    resolve(app.endpoints, now)  # two exchanges at most (discovery), cached in flash
    del resolve
    drop("resolver")  # the endpoints are known: the rest of the run needs none of its code
    _decide(app, now)


def _decide(app, now):
    from deviceflow.clock import span  # every config span is clamped to the tick range

    s = app.session
    if s.access_valid(now) and not s.refresh_due(now):
        spread = span(app.cfg["api_spread_s"] * 1000)
        app.api_at = app.clock.ticks_add(now, int(app.rand() * spread))
        app.screen.message("success", s.record.get("name"))
        app.goto("idle")
    elif s.refresh_token():
        app.api_at = now
        if s.refresh_at is None or s.refresh_due(now):
            app.grant = None
            app.goto("refresh")  # starts a refresh grant at once
        else:
            # Expired while the power was off: refresh at the random boot-spread point.
            app.screen.message("success", s.record.get("name"))
            app.goto("idle")
    else:
        # Not signed in: ask for a code after a random part of api_spread_s, so devices
        # that boot together do not all poll the token endpoint in the same second.
        app.goto("device_start", int(app.rand() * span(app.cfg["api_spread_s"] * 1000)))
