# The signed-in phase of the app (firmware/app.py STATES): api (one authorized call; 401 ->
# refresh -> retry once), idle (until the next call or refresh), refresh (a refresh grant,
# rotated tokens stored before use) and sign_out (revoke, wipe). Each public function is one
# state: `state(app, now)`.
from deviceflow.errors import TransportError
from deviceflow.phase import drop


# ---- the API ---------------------------------------------------------
def api(app, now):
    if not app.session.access_valid(now) and app.session.refresh_token():
        # Retrying after an outage: an access token that expired meanwhile is refreshed
        # first rather than sent to earn a 401.
        app.api_retry_after_refresh = True
        _start_refresh(app, now)
        return
    token = app.session.access_token()
    if app.cfg["mode"] == "sensor":
        body = app.platform.reading()
        resp = app.exchange("POST", app.cfg["api_url"], {"Authorization": "Bearer " + token,
                            "Content-Type": "application/json"}, body)
    else:
        resp = app.exchange("GET", app.cfg["api_url"], {"Authorization": "Bearer " + token,
                            "Accept": "application/json"})
    if resp.status == 401:
        app.log.error("api_unauthorized", status=401)
        if not app.api_retry_after_refresh and app.session.refresh_token():
            app.api_retry_after_refresh = True
            _start_refresh(app, now)
        else:
            app.api_retry_after_refresh = False
            app.forget_tokens(now)
            app.goto("device_start")
        return
    if resp.status >= 400:
        from deviceflow.replies import retry_after_ms

        err = TransportError("api_status", "API answered HTTP %d" % resp.status)
        app.trouble(now, "network" if resp.status >= 429 else "error", err, retry_after_ms(resp.headers))
        return
    app.api_retry_after_refresh = False
    app.api_calls += 1
    app.log.event("api_ok", status=resp.status, bytes=len(resp.body))
    app.screen.message("success", app.session.record.get("name"))  # clears a past error
    _after_api(app, now)


def _after_api(app, now):
    if app.cfg["mode"] == "sensor":
        if app.unsaved is not None:
            app.persist(app.unsaved, now)  # RAM does not survive deep sleep: one more try
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
    s = app.session
    if s.refresh_due(now):
        _start_refresh(app, now)
    elif not s.access_valid(now):
        if s.refresh_token() and s.refresh_at is not None:
            app.sleep_until(s.refresh_at)  # the boot spread: no token request before it
        elif s.refresh_token():
            _start_refresh(app, now)
        else:
            app.goto("device_start")
    elif app.api_at is None or app.clock.ticks_diff(now, app.api_at) >= 0:
        app.goto("api")
    else:
        nxt = app.api_at
        if s.refresh_at is not None and (nxt is None or app.clock.ticks_diff(s.refresh_at, nxt) < 0):
            nxt = s.refresh_at
        app.sleep_until(nxt if nxt is not None else app.clock.ticks_add(now, 60000))


# ---- refresh ---------------------------------------------------------
def refresh(app, now):
    if app.grant is None:  # entered from boot: start the grant
        _start_refresh(app, now)
    else:
        _refresh_action(app, now, app.grant.next_action(now))


def _start_refresh(app, now):
    from app import MAX_BACKOFF_MS
    from deviceflow.refresh import RefreshGrant

    app.grant = RefreshGrant(app.clock, app.cfg["client_id"], app.endpoints.get("token_endpoint"),
                             app.session.refresh_token(), extra_params=app.endpoints.poll_params(),
                             max_backoff_ms=MAX_BACKOFF_MS, jitter=app.rand,
                             spread_ms=app.session.spread_ms)
    app.state = "refresh"
    _refresh_action(app, now, app.grant.start(now))


def _refresh_action(app, now, action):
    kind = action.kind
    if kind == "send":
        return _refresh_action(app, now, app.perform(app.grant, action, "refresh"))
    if kind == "wait":
        app.sleep_until(action.until)
        return
    app.grant = None  # the grant is over: the engine's code can go
    drop("deviceflow.refresh", "deviceflow.actions", "deviceflow.replies", "deviceflow.form")
    if kind == "tokens":
        app.save(now, action.tokens, None, fresh=True)
        app.refreshes += 1
        app.log.event("refreshed", rotated=1 if action.rotated else 0)
        app.screen.message("success", app.session.record.get("name"))
        if app.api_retry_after_refresh:
            app.goto("api")
        else:
            app.goto("idle")
    elif kind == "failed":
        app.log.error(action.reason, detail=action.description, state="refresh")
        if action.reason == "invalid_grant":
            # The grant is gone (revoked, expired, reused): start over with the reason on screen.
            app.forget_tokens(now)
            app.screen.message("error", "Signed out by the provider. Sign in again.")
            app.goto("device_start", 3000)
        else:
            app.screen.message("provider", action.description)
            app.goto("halted")


# ---- sign out ----------------------------------------------------------
def sign_out(app, now):
    rt = app.session.refresh_token()
    url = app.endpoints.get("revocation_endpoint")
    if rt and url:
        from deviceflow.form import revocation_form

        body = revocation_form(rt, app.cfg["client_id"])
        try:
            resp = app.exchange("POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, body)
            app.log.event("revoked", status=resp.status)
        except TransportError as e:
            app.log.error(e.reason, detail="revocation failed; wiping the device anyway")
    app.forget_tokens(now)
    app.log.event("signed_out")
    app.screen.message("signed_out")
    app.milestone("signed_out")
    app.goto("halted")
