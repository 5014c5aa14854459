# The sign-in phase of a DeviceClient (deviceflow/machine.py STATES): the device flow
# (device_start, then device_poll with the code on screen), until the tokens arrive;
# deviceflow/accepting.py checks and stores them. Each public function is one state:
# `state(client, now)`.
from deviceflow.clock import backoff_ms
from deviceflow.errors import DeviceFlowError, TransportError
from deviceflow.phase import drop

# Failed reasons from the engine -> screen kinds
_SCREEN_FOR_REASON = {"access_denied": "denied", "expired_token": "expired"}
# Failures that mean "not now", with the screen they get: Google's quota error (`error_code`),
# which its guide says to retry with backoff, and a 200 that is no OAuth reply (a captive
# portal or a proxy's page far more often than a broken provider). The client starts the flow
# again later (backoff) instead of halting until someone presses a button (new_code).
_RETRY_LATER = {"rate_limit_exceeded": ("provider", "Provider busy; trying again later."),
                "bad_reply": ("network", "Unexpected answer from the server; retrying later")}


# ---- device flow ---------------------------------------------------
def device_start(c, now):
    from deviceflow.machine import MAX_BACKOFF_MS
    from deviceflow.flow import DeviceFlow

    ep = c.endpoints
    c.flow = DeviceFlow(c.clock, c.cfg["client_id"], ep.get("device_authorization_endpoint"),
                        ep.get("token_endpoint"), scope=ep.scope or None, extra_params=ep.device_params(),
                        poll_params=ep.poll_params(), max_backoff_ms=MAX_BACKOFF_MS, jitter=c.rand)
    c.screen.message("connecting")
    c.state = "device_poll"
    _carry_out(c, now, c.flow.start(now))


def device_poll(c, now):
    _carry_out(c, now, c.flow.next_action(now))


def _carry_out(c, now, action):
    """Carry out one engine action; a Send is performed and its result handled too."""
    kind = action.kind
    if kind == "send":
        from deviceflow.perform import perform  # dropped while the QR is encoded (below)

        return _carry_out(c, now, perform(c, c.flow, action, "device_poll"))
    if kind == "wait":
        c.sleep_until(action.until)
        c.screen.poll_phase()
    elif kind == "show_code":
        c.busy_refusals = 0
        c.log.event("show_code", user_code=action.user_code,
                    verification_uri=action.verification_uri,
                    verification_uri_complete=action.verification_uri_complete,
                    expires_in=action.expires_in)
        # Until the next poll: room for the QR (this module imports perform again then).
        drop("deviceflow.replies", "deviceflow.form", "deviceflow.perform")
        c.pending = action
        c.goto("show_code")  # drawn on the next step, once this exchange's garbage is collected
    elif kind == "tokens":
        c.log.event("approved")
        c.screen.end_code()
        c.pending = action.tokens
        c.jwks_refetched = False
        c.flow = None  # the device flow is over: its code can go before validation loads
        drop("deviceflow.flow", "deviceflow.actions", "deviceflow.replies", "deviceflow.form", "deviceflow.perform")
        c.goto("validate")
    elif kind == "failed":
        _flow_failed(c, action)


def show_code(c, now):
    """The code on screen: the QR is encoded here, the sign-in's largest allocation."""
    action, c.pending = c.pending, None
    c.screen.code(action, now)
    c.goto("jwks_prefetch")  # the signing keys, on the next step: one exchange a step


def jwks_prefetch(c, now):
    """Load the signing keys while the user is still on the way (the first poll waits one
    interval anyway), so approval -> tokens stored costs one round trip, not two."""
    c.state = "device_poll"  # next: the first poll, when the flow's wait is over
    if "openid" not in (c.endpoints.scope or "").split() or not c.endpoints.get("jwks_uri"):
        return
    from deviceflow.keys import SigningKeys

    keys = SigningKeys(c.endpoints, c.jwks_fetched)
    try:
        keys.prefetch()
    except (TransportError, DeviceFlowError) as e:
        c.log.error(e.reason, detail=e.detail, state="jwks_prefetch")  # validate retries
    c.jwks_fetched = keys.fetched
    del keys, SigningKeys  # not needed again until the tokens arrive: room for polling
    drop("deviceflow.keys", "deviceflow.http_body")  # http_body: the streamed read, rare otherwise


def _flow_failed(c, action):
    from deviceflow.machine import MAX_BACKOFF_MS

    later = _RETRY_LATER.get(action.reason)
    if later:
        c.log.error(action.reason, detail=action.description, state="device_start")
        c.screen.message(later[0], later[1])
        delay = backoff_ms(5000, c.busy_refusals, MAX_BACKOFF_MS, c.rand)
        c.busy_refusals += 1
        c.goto("device_start", delay)
        return
    c.screen.end_code()
    c.log.error(action.reason, detail=action.description)
    c.screen.message(_SCREEN_FOR_REASON.get(action.reason, "provider"), action.description)
    c.halt(DeviceFlowError(action.reason, action.description))
    if c.on_milestone is not None:
        c.on_milestone("flow_failed")
