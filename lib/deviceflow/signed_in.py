# The signed-in phase of a DeviceClient (deviceflow/machine.py STATES): idle (a good access
# token; Machine.on_idle() until its refresh is due), refresh (a refresh grant, rotated tokens stored
# before use) and sign_out (revoke, wipe). Each public function is one state:
# `state(client, now)`.
from deviceflow.errors import DeviceFlowError, TransportError
from deviceflow.phase import drop


def idle(c, now):
    s = c.session
    if s.refresh_due(now):
        _start_refresh(c, now)
    elif not s.access_valid(now):
        if s.refresh_token() and s.refresh_at is not None:
            c.sleep_until(s.refresh_at)  # the boot spread: no token request before it
        elif s.refresh_token():
            _start_refresh(c, now)
        else:
            c.goto("device_start")
    else:
        c.on_idle(now)  # a good token: until its refresh (an app does its work meanwhile)


# ---- refresh ---------------------------------------------------------
def refresh(c, now):
    if c.grant is None:  # entered from the start, or asked for (refresh_now): start the grant
        _start_refresh(c, now)
    else:
        _refresh_action(c, now, c.grant.next_action(now))


def _start_refresh(c, now):
    from deviceflow.machine import MAX_BACKOFF_MS
    from deviceflow.refresh import RefreshGrant

    c.grant = RefreshGrant(c.clock, c.cfg["client_id"], c.endpoints.get("token_endpoint"),
                           c.session.refresh_token(), extra_params=c.endpoints.poll_params(),
                           max_backoff_ms=MAX_BACKOFF_MS, jitter=c.rand,
                           spread_ms=c.session.spread_ms)
    c.state = "refresh"
    _refresh_action(c, now, c.grant.start(now))


def _refresh_action(c, now, action):
    kind = action.kind
    if kind == "send":
        return _refresh_action(c, now, c.perform(c.grant, action, "refresh"))
    if kind == "wait":
        c.sleep_until(action.until)
        return
    c.grant = None  # the grant is over: the engine's code can go
    drop("deviceflow.refresh", "deviceflow.actions", "deviceflow.replies", "deviceflow.form")
    if kind == "tokens":
        c.save(now, action.tokens, None, fresh=True)
        c.refreshes += 1
        c.log.event("refreshed", rotated=1 if action.rotated else 0)
        c.screen.message("success", c.session.record.get("name"))
        c.goto("idle")
    elif kind == "failed":
        c.log.error(action.reason, detail=action.description, state="refresh")
        if action.reason == "invalid_grant":
            # The grant is gone (revoked, expired, reused): start over with the reason on screen.
            c.forget_tokens(now)
            c.screen.message("error", "Signed out by the provider. Sign in again.")
            c.goto("device_start", 3000)
        else:
            c.screen.message("provider", action.description)
            c.halt(DeviceFlowError(action.reason, action.description))


# ---- what a user asks for (DeviceClient's methods; an app on Machine calls these) ----
def unauthorized(c, after_refresh):
    """The API answered 401 to the access token: refresh it, or sign in again when there is
    no refresh token or the token it refused was just refreshed (`after_refresh`)."""
    if not after_refresh and c.session.refresh_token():
        c.refresh_now()
    else:
        c.forget_tokens(c.clock.ticks_ms())
        c.goto("device_start")


def new_code(c):
    """Start a new sign-in (after a failure, or to replace a code on screen)."""
    c.failure = None
    c.flow = None
    c.goto("device_start" if c.endpoints.urls is not None else "load")


def start_sign_out(c):
    """Revoke and wipe, in the next steps (the sign_out state)."""
    c.flow = c.grant = c.pending = None
    c.goto("sign_out")


# ---- sign out ----------------------------------------------------------
def sign_out(c, now):
    if not c.loaded:  # asked before the first step: what is stored is what is revoked
        from deviceflow.starting import load

        load(c, now)
        c.state = "sign_out"
    rt = c.session.refresh_token()
    if rt and c.endpoints.urls is None:
        from deviceflow.resolver import resolve

        try:
            resolve(c.endpoints, now)
        except (TransportError, DeviceFlowError) as e:
            c.log.error(e.reason, detail="revocation failed; wiping the device anyway")
        drop("deviceflow.resolver")
    url = c.endpoints.get("revocation_endpoint")
    if rt and url:
        from deviceflow.form import revocation_form

        body = revocation_form(rt, c.cfg["client_id"])
        try:
            resp = c.exchange("POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, body)
            c.log.event("revoked", status=resp.status)
        except TransportError as e:
            c.log.error(e.reason, detail="revocation failed; wiping the device anyway")
    c.forget_tokens(now)
    c.log.event("signed_out")
    c.screen.message("signed_out")
    c.halt()
    c.milestone("signed_out")
