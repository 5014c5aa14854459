# The start of a DeviceClient (deviceflow/machine.py STATES): load (the stored sign-in, if it is
# this tenant's) -> endpoints (profile, config and discovery, deviceflow/resolver.py), which
# decides: signed in already, a refresh, or a sign-in. Each function is one state:
# `state(client, now)`.
from deviceflow.phase import drop


def load(c, now):
    c.loaded = True
    why = c.session.load(now, c.endpoints.binding())
    if why and why[0] == "store":
        c.log.error("store_" + why[1], detail="stored sign-in unreadable; signing in again")
    elif why:
        # Another tenant's, client's or grant's sign-in (a re-provisioned device): its
        # tokens must never be sent, not even to their own provider.
        c.log.event("state_discarded", what="tokens", reason=why[1])
    c.log.event("tokens_loaded" if c.session.record else "no_tokens")
    c.goto("endpoints")


def endpoints(c, now):
    from deviceflow.resolver import resolve

    resolve(c.endpoints, now)  # two exchanges at most (discovery), cached in flash
    del resolve
    drop("deviceflow.resolver")  # the endpoints are known: the rest of the run needs none of its code
    _decide(c, now)


def _decide(c, now):
    from deviceflow.clock import span  # every config span is clamped to the tick range

    s = c.session
    if s.usable(now):
        c.screen.message("success", s.record.get("name"))
        c.goto("idle")
    elif s.refresh_token():
        if s.refresh_at is None or s.refresh_due(now):
            c.refresh_now()  # a refresh grant at once
        else:
            # Expired while the power was off: refresh at the random boot-spread point.
            c.screen.message("success", s.record.get("name"))
            c.goto("idle")
    else:
        # Not signed in: ask for a code after a random part of sign_in_spread_s, so devices
        # that boot together do not all poll the token endpoint in the same second.
        c.goto("device_start", int(c.rand() * span(c.cfg["sign_in_spread_s"] * 1000)))
