# What the user of a DeviceClient asks for between steps (DeviceClient's methods; an app built
# on Machine calls these functions): a new code, a sign-out (the sign_out state of
# deviceflow/machine.py STATES: revoke, wipe), and what a 401 from the API means. Apart from
# the signed-in phase so that a refresh never holds their code.
from deviceflow.errors import DeviceFlowError, TransportError
from deviceflow.phase import drop


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
    if c.on_milestone is not None:
        c.on_milestone("signed_out")
