# Carrying out an engine's Send for a DeviceClient (deviceflow/machine.py): the exchange, then
# the engine's answer to what came back, with what a failure means on the way (a TLS date error
# asks NTP again; a lost endpoint drops the discovery cache; a busy server is shown). Used by
# the device flow (signing_in) and the refresh (signed_in), and dropped by the sign-in while its
# code screen encodes the QR.
from deviceflow.errors import TLSError, TransportError
from deviceflow.phase import collect


def perform(c, engine, send, state):
    """Carry out an engine's Send and return the engine's answer to what came back."""
    try:
        resp = c.exchange(send.method, send.url, send.headers, send.body)
    except TransportError as e:
        c.log.error(e.reason, detail=e.detail, state=state)
        if isinstance(e, TLSError):
            clock_suspect(c, e)
            c.screen.message("tls", e.detail or e.reason)
        else:
            c.endpoints.forget_discovery()  # a cached endpoint may be gone: re-fetch next boot
            if not c.screen.code_shown:  # the code, once shown, stays up
                c.screen.message("network", e.detail or e.reason)
        return engine.on_transport_error(c.clock.ticks_ms(), e.reason)
    if resp.status == 404:
        c.endpoints.forget_discovery()  # no such endpoint (any more): re-fetch next boot
    # The reply's parse (the tokens: kilobytes of JWTs) is the phase's largest allocation: the
    # exchange's scraps are collected first, so that it finds whole holes.
    collect()
    action = engine.on_response(c.clock.ticks_ms(), resp.status, resp.headers, resp.body)
    if action.kind == "wait" and action.reason == "backoff":
        # An answer the engine retries later (5xx, 429, an error or portal page, a reply that
        # is no OAuth reply): log it and, unless the code is on screen, show it.
        reason = "server_busy" if resp.status == 429 or resp.status >= 500 else "bad_reply"
        detail = "server answered HTTP %d; retrying later" % resp.status
        c.log.error(reason, detail=detail, status=resp.status, state=state)
        if not c.screen.code_shown:
            c.screen.message("network", detail)
    return action


def clock_suspect(c, err):
    """A certificate 'not valid yet' on a board means the RTC is wrong (never set, or reset):
    ask NTP again at once; the failed exchange is retried by its own backoff."""
    if err.reason == "tls_not_yet_valid" and c.set_clock is not None:
        c.log.event("clock_resync", ok=1 if c.set_clock() else 0)
