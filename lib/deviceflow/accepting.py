# Accepting the tokens, the end of a DeviceClient's sign-in (deviceflow/machine.py STATES):
# validate (the ID token against the provider's keys; then deviceflow/saving.py's store puts the
# record on flash) and userinfo (the user's name, once). Apart from deviceflow/signing_in.py so
# that the device flow's code and the JWT code are never in the heap together. Each public
# function is one state: `state(client, now)`.
from deviceflow.errors import TokenError, TransportError
from deviceflow.phase import drop


def _keys(c):
    """The provider's signing keys for this sign-in (deviceflow/keys.py)."""
    if c.keys is None:
        from deviceflow.keys import SigningKeys

        c.keys = SigningKeys(c.endpoints, c.jwks_fetched)
    return c.keys


def validate(c, now):
    from deviceflow import jwt

    tokens = c.pending
    jwt.check_token_type(tokens.get("token_type"))
    claims = jwks = None
    if tokens.get("id_token"):
        jwks = _keys(c).get(now, refetch=False)  # may fetch (one exchange)
        try:
            # `iss` must equal the issuer discovery published (Auth0 adds a trailing "/").
            issuer = c.endpoints.get("issuer") or c.endpoints.issuer
            claims = jwt.validate_id_token(tokens["id_token"], jwks, issuer,
                                           c.cfg["client_id"], c.clock.time())
        except TokenError as e:
            if e.reason == "clock_unset":
                # Never accept or reject on a bogus date: say why, try to set the clock, retry.
                c.log.error("clock_unset", detail="cannot check the sign-in's expiry without the time")
                c.screen.message("error", "Clock not set: cannot check the sign-in yet. Retrying.")
                if c.set_clock is not None:
                    c.set_clock()
                c.goto("validate", 10000)
                return
            if e.reason == "unknown_kid" and not c.jwks_refetched:
                c.jwks_refetched = True
                _keys(c).get(now, refetch=True)
                return  # validate again on the next step with the new keys
            c.pending = None
            c.log.error("id_token_" + e.reason, detail=e.detail)
            c.screen.message("error", "Sign-in rejected: " + (e.detail or e.reason))
            c.halt(e)
            return
        c.log.event("id_token_ok", sub=claims.get("sub"))
    tokens.pop("id_token", None)  # checked; only its claims are kept (session.make_record)
    del jwt, jwks
    c.keys = None  # checked: the keys, their code and the JWT code can go
    drop("deviceflow.keys", "deviceflow.jwt", "deviceflow.rsa", "deviceflow.b64")
    c.pending = (tokens, claims)
    c.goto("store")  # on flash next (deviceflow/saving.py), without this phase's code


def userinfo(c, now):
    """OIDC Core 5.3: the user's name for the success screen, once after sign-in. The reply's
    `sub` must equal the id_token's (5.3.2), or it is not used. A failure costs only the name."""
    rec = c.session.record
    name = None
    try:
        resp = c.exchange("GET", c.endpoints.get("userinfo_endpoint"),
                            {"Authorization": "Bearer " + c.session.access_token(),
                             "Accept": "application/json"})
        import json

        info = json.loads(resp.body) if resp.status == 200 else None
        same = isinstance(info, dict) and info.get("sub") == rec.get("sub")
        if same:
            name = info.get("name") or info.get("preferred_username") or info.get("email")
        c.log.event("userinfo", status=resp.status, sub_match=1 if same else 0, name=1 if name else 0)
    except (TransportError, ValueError) as e:
        c.log.error(getattr(e, "reason", "userinfo"), detail="userinfo: " + str(getattr(e, "detail", e)))
    from deviceflow.saving import persist, signed_in

    if isinstance(name, str) and name:
        rec["name"] = name[:64]
        persist(c, rec, now)
    signed_in(c)
    del persist, signed_in
    drop("deviceflow.saving")
