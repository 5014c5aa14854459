# The app's signed-in phase (firmware/app.py STATES): api (one authorized call; 401 -> the
# client refreshes -> the call again, once) and idle (until the next call, or until the client
# wants its turn: a refresh is due, the token is gone). Each function is one state:
# `state(app, now)`.
from deviceflow.errors import TransportError


def api(app, now):
    c = app.client
    if not c.ready(now):
        # Retrying after an outage: a token that expired meanwhile is refreshed first rather
        # than sent to earn a 401.
        app.api_retry_after_refresh = True
        app.auth()
        return
    token = c.session.access_token()
    if app.cfg["mode"] == "sensor":
        body = app.platform.reading()
        resp = c.exchange("POST", app.cfg["api_url"], {"Authorization": "Bearer " + token,
                          "Content-Type": "application/json"}, body)
    else:
        resp = c.exchange("GET", app.cfg["api_url"], {"Authorization": "Bearer " + token,
                          "Accept": "application/json"})
    if resp.status == 401:
        app.log.error("api_unauthorized", status=401)
        retried = app.api_retry_after_refresh
        c.unauthorized(retried)  # refresh, or (a fresh token refused too) sign in again
        app.api_retry_after_refresh = not retried and c.state == "refresh"
        app.auth()
        return
    if resp.status >= 400:
        from deviceflow.replies import retry_after_ms

        err = TransportError("api_status", "API answered HTTP %d" % resp.status)
        c.trouble(now, "network" if resp.status >= 429 else "error", err, retry_after_ms(resp.headers), app)
        return
    app.api_retry_after_refresh = False
    app.api_calls += 1
    app.log.event("api_ok", status=resp.status, bytes=len(resp.body))
    app.screen.message("success", c.session.record.get("name"))  # clears a past error
    _after_api(app, now)


def _after_api(app, now):
    if app.cfg["mode"] == "sensor":
        app.client.retry_save(now, force=True)  # RAM does not survive deep sleep: one more try
        app.log.event("sleep", seconds=app.cfg["sleep_s"])
        app.exit_code = 0
        app.platform.deep_sleep(app.cfg["sleep_s"])
        return
    app.milestone("api_ok")  # a run mode (--once, --demo) may end the run or refresh here
    if app.exit_code is not None or app.state != "api":
        return
    from deviceflow.clock import span  # an interval of days must not overflow a tick sum

    app.api_at = app.clock.ticks_add(now, span(app.cfg["api_interval_s"] * 1000))
    app.goto("idle")


def idle(app, now):
    c = app.client
    if not c.ready(now):
        app.auth()  # a refresh is due, or the token is gone: the client's turn
    elif app.api_at is None or app.clock.ticks_diff(now, app.api_at) >= 0:
        app.goto("api")
    else:
        nxt = app.api_at
        at = c.session.refresh_at
        if at is not None and app.clock.ticks_diff(at, nxt) < 0:
            nxt = at
        app.sleep_until(nxt)
