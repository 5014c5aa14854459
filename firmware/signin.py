# The sign-in phase of the app (firmware/app.py STATES): the device flow (device_start, then
# device_poll with the code on screen), until the tokens arrive; firmware/accepting.py checks
# and stores them. Each public function is one state: `state(app, now)`.
from deviceflow.clock import backoff_ms
from deviceflow.errors import DeviceFlowError, TransportError
from deviceflow.phase import drop

# Failed reasons from the engine -> screen kinds
_SCREEN_FOR_REASON = {"access_denied": "denied", "expired_token": "expired"}
# Failures that mean "not now", with the screen they get: Google's quota error (`error_code`),
# which its guide says to retry with backoff, and a 200 that is no OAuth reply (a captive portal
# or a proxy's page far more often than a broken provider). The app starts the flow again later
# (backoff) instead of halting until someone presses a button.
_RETRY_LATER = {"rate_limit_exceeded": ("provider", "Provider busy; trying again later."),
                "bad_reply": ("network", "Unexpected answer from the server; retrying later")}


# ---- device flow ---------------------------------------------------
def device_start(app, now):
    from app import MAX_BACKOFF_MS
    from deviceflow.flow import DeviceFlow

    ep = app.endpoints
    app.flow = DeviceFlow(app.clock, app.cfg["client_id"], ep.get("device_authorization_endpoint"),
                          ep.get("token_endpoint"), scope=ep.scope or None,
                          extra_params=ep.device_params(),
                          poll_params=ep.poll_params(), max_backoff_ms=MAX_BACKOFF_MS, jitter=app.rand)
    app.screen.message("connecting")
    app.state = "device_poll"
    _carry_out(app, now, app.flow.start(now))


def device_poll(app, now):
    _carry_out(app, now, app.flow.next_action(now))


def _carry_out(app, now, action):
    """Carry out one engine action; a Send is performed and its result handled too."""
    kind = action.kind
    if kind == "send":
        return _carry_out(app, now, app.perform(app.flow, action, "device_poll"))
    if kind == "wait":
        app.sleep_until(action.until)
        app.screen.poll_phase()
    elif kind == "show_code":
        app.busy_refusals = 0
        app.log.event("show_code", user_code=action.user_code,
                      verification_uri=action.verification_uri,
                      verification_uri_complete=action.verification_uri_complete,
                      expires_in=action.expires_in)
        drop("deviceflow.replies", "deviceflow.form")  # until the next poll: room for the QR
        app.screen.code(action, now)
        _prefetch_jwks(app, now)
        _carry_out(app, now, app.flow.next_action(now))
    elif kind == "tokens":
        app.log.event("approved")
        app.screen.end_code()
        app.pending = action.tokens
        app.jwks_refetched = False
        app.flow = None  # the device flow is over: its code can go before validation loads
        drop("deviceflow.flow", "deviceflow.actions", "deviceflow.replies", "deviceflow.form")
        app.goto("validate")
    elif kind == "failed":
        _flow_failed(app, action)


def _prefetch_jwks(app, now):
    """Load the signing keys while the user is still on the way (the first poll waits one
    interval anyway), so approval -> tokens stored costs one round trip, not two."""
    if "openid" not in (app.endpoints.scope or "").split() or not app.endpoints.get("jwks_uri"):
        return
    from keys import SigningKeys

    keys = SigningKeys(app.endpoints, app.jwks_fetched)
    try:
        keys.prefetch()
    except (TransportError, DeviceFlowError) as e:
        app.log.error(e.reason, detail=e.detail, state="jwks_prefetch")  # validate retries
    app.jwks_fetched = keys.fetched
    del keys, SigningKeys  # not needed again until the tokens arrive: room for polling
    drop("keys", "deviceflow.http_body")  # http_body: the streamed read, rare otherwise


def _flow_failed(app, action):
    from app import MAX_BACKOFF_MS

    later = _RETRY_LATER.get(action.reason)
    if later:
        app.log.error(action.reason, detail=action.description, state="device_start")
        app.screen.message(later[0], later[1])
        delay = backoff_ms(5000, app.busy_refusals, MAX_BACKOFF_MS, app.rand)
        app.busy_refusals += 1
        app.goto("device_start", delay)
        return
    app.screen.end_code()
    app.log.error(action.reason, detail=action.description)
    app.screen.message(_SCREEN_FOR_REASON.get(action.reason, "provider"), action.description)
    app.milestone("flow_failed")
    app.goto("halted")
