# The app's signed-in phase (firmware/app.py STATES): api, one authorized call (401 -> the
# client refreshes -> the call again, once), then back to the client's `idle` state, whose
# App.on_idle() waits for the next call or the refresh. Each state is a function `state(app, now)`.
from deviceflow.errors import TransportError
from deviceflow.phase import drop


def api(app, now):
    s = app.session
    if not s.usable(now):
        # Retrying after an outage: a token that expired meanwhile is refreshed first rather
        # than sent to earn a 401 (or, with no refresh token, a new sign-in).
        app.goto("idle")
        return
    token = s.access_token()
    if app.cfg["mode"] == "sensor":
        body = app.platform.reading()
        resp = app.exchange("POST", app.cfg["api_url"], {"Authorization": "Bearer " + token,
                            "Content-Type": "application/json"}, body)
    else:
        resp = app.exchange("GET", app.cfg["api_url"], {"Authorization": "Bearer " + token,
                            "Accept": "application/json"})
    if resp.status == 401:
        app.log.error("api_unauthorized", status=401)
        retried = app.api_retry_after_refresh
        from deviceflow.asked import unauthorized

        unauthorized(app, retried)  # refresh (the call again after it), or sign in again
        del unauthorized
        drop("deviceflow.asked")
        app.api_retry_after_refresh = not retried and app.state == "refresh"
        return
    if resp.status >= 400:
        from deviceflow.replies import retry_after_ms

        err = TransportError("api_status", "API answered HTTP %d" % resp.status)
        app.trouble(now, "network" if resp.status >= 429 else "error", err, retry_after_ms(resp.headers))
        return
    app.api_retry_after_refresh = False
    app.api_calls += 1
    app.log.event("api_ok", status=resp.status, bytes=len(resp.body))
    app.screen.message("success", s.record.get("name"))  # clears a past error
    _after_api(app, now)


def _after_api(app, now):
    if app.cfg["mode"] == "sensor":
        app.retry_save(now, force=True)  # RAM does not survive deep sleep: one more try
        app.log.event("sleep", seconds=app.cfg["sleep_s"])
        app.exit_code = 0
        app.platform.deep_sleep(app.cfg["sleep_s"])
        return
    if app.on_milestone is not None:
        app.on_milestone("api_ok")  # a run mode (--once, --demo) may end the run or refresh here
    if app.exit_code is not None or app.state != "api":
        return
    from deviceflow.clock import span  # an interval of days must not overflow a tick sum

    app.api_at = app.clock.ticks_add(now, span(app.cfg["api_interval_s"] * 1000))
    app.goto("idle")


def on_idle(app, now):
    """App.on_idle: the token is good; call the API when it is due, else sleep until then (or
    until the refresh)."""
    schedule(app, now)
    if app.clock.ticks_diff(now, app.api_at) >= 0:
        app.goto("api")
        return
    at = app.session.refresh_at
    app.sleep_until(app.api_at if at is None or app.clock.ticks_diff(app.api_at, at) < 0 else at)


def schedule(app, now):
    """When the API is called next (App.on_idle): at once after a sign-in or a refused call,
    else as scheduled; the first time after boot, as below."""
    if app.api_retry_after_refresh or app.signins != app.signins_seen:
        app.api_at = now  # a refused call again, or the first call after a sign-in
    elif app.api_at is None and app.refreshes:
        app.api_at = now  # refreshed at boot: the token was old, so is the last call
    elif app.api_at is None:
        # Signed in from flash: the first call lands at a random point of api_spread_s, so
        # devices that boot together do not all call the API in the same second.
        from deviceflow.clock import span  # every config span is clamped to the tick range

        app.api_at = app.clock.ticks_add(now, int(app.rand() * span(app.cfg["api_spread_s"] * 1000)))
    app.signins_seen = app.signins
