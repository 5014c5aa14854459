# The signed-in phase of a DeviceClient (deviceflow/machine.py STATES): idle (a good access
# token; Machine.on_idle() until its refresh is due) and refresh (a refresh grant, rotated
# tokens stored before use). Each public function is one state: `state(client, now)`.
from deviceflow.errors import DeviceFlowError
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
        from deviceflow.perform import perform

        return _refresh_action(c, now, perform(c, c.grant, action, "refresh"))
    if kind == "wait":
        c.sleep_until(action.until)
        return
    c.grant = None  # the grant is over: the engine's code can go
    drop("deviceflow.refresh", "deviceflow.actions", "deviceflow.replies", "deviceflow.form", "deviceflow.perform")
    if kind == "tokens":
        from deviceflow.saving import save

        save(c, now, action.tokens, None, fresh=True)
        del save
        drop("deviceflow.saving")
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
