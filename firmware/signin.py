# The sign-in phase of the app (firmware/app.py STATES): the device flow (device_start, then
# device_poll with the code on screen), then validate (the ID token against the provider's
# keys) and userinfo (the user's name, once). From "no usable token" to "tokens on flash".
# Each public function is one state: `state(app, now)`.
from deviceflow.actions import backoff_ms
from deviceflow.errors import DeviceFlowError, TokenError, TransportError
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
        drop("deviceflow.flow", "deviceflow.replies", "deviceflow.form")
        app.goto("validate")
    elif kind == "failed":
        _flow_failed(app, action)


def _keys(app):
    """The provider's signing keys for this sign-in (firmware/keys.py)."""
    if app.keys is None:
        from keys import SigningKeys

        app.keys = SigningKeys(app.endpoints, app.jwks_fetched)
    return app.keys


def _prefetch_jwks(app, now):
    """Load the signing keys while the user is still on the way (the first poll waits one
    interval anyway), so approval -> tokens stored costs one round trip, not two."""
    if "openid" not in (app.endpoints.scope or "").split() or not app.endpoints.get("jwks_uri"):
        return
    keys = _keys(app)
    try:
        keys.prefetch()
    except (TransportError, DeviceFlowError) as e:
        app.log.error(e.reason, detail=e.detail, state="jwks_prefetch")  # validate retries
    app.jwks_fetched = keys.fetched
    del keys
    app.keys = None  # not needed again until the tokens arrive: room for polling
    drop("keys")


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
    if app.once:
        app.exit_code = 3
    app.goto("halted")


# ---- validate and store ---------------------------------------------
def validate(app, now):
    from deviceflow import jwt

    tokens = app.pending
    jwt.check_token_type(tokens.get("token_type"))
    claims = jwks = None
    if tokens.get("id_token"):
        jwks = _keys(app).get(now, refetch=False)  # may fetch (one exchange)
        try:
            # `iss` must equal the issuer discovery published (Auth0 adds a trailing "/").
            issuer = app.endpoints.get("issuer") or app.endpoints.issuer
            claims = jwt.validate_id_token(tokens["id_token"], jwks, issuer,
                                           app.cfg["client_id"], app.clock.time())
        except TokenError as e:
            if e.reason == "clock_unset":
                # Never accept or reject on a bogus date: say why, try to set the clock, retry.
                app.log.error("clock_unset", detail="cannot check the sign-in's expiry without the time")
                app.screen.message("error", "Clock not set: cannot check the sign-in yet. Retrying.")
                app.platform.set_clock()
                app.goto("validate", 10000)
                return
            if e.reason == "unknown_kid" and not app.jwks_refetched:
                app.jwks_refetched = True
                _keys(app).get(now, refetch=True)
                return  # validate again on the next step with the new keys
            app.pending = None
            app.log.error("id_token_" + e.reason, detail=e.detail)
            app.screen.message("error", "Sign-in rejected: " + (e.detail or e.reason))
            app.goto("halted")
            return
        app.log.event("id_token_ok", sub=claims.get("sub"))
    tokens.pop("id_token", None)  # checked; only its claims are kept (session.make_record)
    app.pending = None
    del jwt, jwks
    app.keys = None  # checked: the keys, their code and the JWT code can go
    drop("keys", "deviceflow.jwt", "deviceflow.rsa", "deviceflow.b64")
    app.save(now, tokens, claims, fresh=True)
    app.pending = None
    app.api_at = now
    if claims is not None and not app.session.record.get("name") and app.endpoints.get("userinfo_endpoint"):
        app.goto("userinfo")  # the id_token names nobody (node oidc-provider): ask once
        return
    app.screen.message("success", app.session.record.get("name"))
    app.goto("api")


def userinfo(app, now):
    """OIDC Core 5.3: the user's name for the success screen, once after sign-in. The reply's
    `sub` must equal the id_token's (5.3.2), or it is not used. A failure costs only the name."""
    rec = app.session.record
    name = None
    try:
        resp = app.exchange("GET", app.endpoints.get("userinfo_endpoint"),
                            {"Authorization": "Bearer " + app.session.access_token(),
                             "Accept": "application/json"})
        import json

        info = json.loads(resp.body) if resp.status == 200 else None
        same = isinstance(info, dict) and info.get("sub") == rec.get("sub")
        if same:
            name = info.get("name") or info.get("preferred_username") or info.get("email")
        app.log.event("userinfo", status=resp.status, sub_match=1 if same else 0, name=1 if name else 0)
    except (TransportError, ValueError) as e:
        app.log.error(getattr(e, "reason", "userinfo"), detail="userinfo: " + str(getattr(e, "detail", e)))
    if isinstance(name, str) and name:
        rec["name"] = name[:64]
        app.persist(rec, now)
    app.screen.message("success", rec.get("name"))
    app.goto("api")
