# Accepting the tokens, the end of the sign-in (firmware/app.py STATES): validate (the ID token
# against the provider's keys, then the record on flash) and userinfo (the user's name, once).
# Apart from firmware/signin.py so that the device flow's code and the JWT code are never in
# the heap together. Each public function is one state: `state(app, now)`.
from deviceflow.errors import TokenError, TransportError
from deviceflow.phase import drop


def _keys(app):
    """The provider's signing keys for this sign-in (firmware/keys.py)."""
    if app.keys is None:
        from keys import SigningKeys

        app.keys = SigningKeys(app.endpoints, app.jwks_fetched)
    return app.keys


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
