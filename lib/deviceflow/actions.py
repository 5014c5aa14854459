# The actions the engines (deviceflow.flow, deviceflow.refresh) return to the app, and the
# pieces both engines share: the form headers, the transient error codes, and the terminal
# failure with its fallback sentence. Kept apart from the engines (as h11 keeps its events in
# one module) so a refresh wake loads no device-flow code. The backoff schedule is
# deviceflow.clock's: the app uses it with no engine (and so none of this) in the heap.
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}

# Errors that say "not now" rather than "no": retried with backoff, never the end of a flow.
TRANSIENT_ERRORS = ("temporarily_unavailable", "server_error", "too_many_requests")

# Terminal reasons, each with the sentence shown when the server gave no description.
_SENTENCES = {
    "access_denied": "Sign-in was declined.",
    "expired_token": "The code expired before sign-in finished.",
    "invalid_grant": "The sign-in is no longer valid; sign in again.",
    "invalid_client": "The server does not know this device's client ID.",
    "unauthorized_client": "This client may not use this grant; check the app settings.",
}
_ALIASES = {"authorization_declined": "access_denied"}  # Entra ID


class Send:
    kind = "send"

    def __init__(self, method, url, headers, body):
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body

    def __repr__(self):  # the body holds the device code or refresh token: never shown
        return "<Send %s %s (%d bytes)>" % (self.method, self.url, len(self.body))


class Wait:
    kind = "wait"

    def __init__(self, until, reason="poll"):
        self.until = until
        self.reason = reason  # 'poll' (the interval), 'backoff' (a failure), 'in_flight'

    def __repr__(self):
        return "<Wait until=%d %s>" % (self.until, self.reason)


class ShowCode:
    kind = "show_code"

    def __init__(self, user_code, verification_uri, verification_uri_complete, message, expires_at, expires_in):
        self.user_code = user_code
        self.verification_uri = verification_uri
        self.verification_uri_complete = verification_uri_complete
        self.message = message
        self.expires_at = expires_at
        self.expires_in = expires_in

    def __repr__(self):
        return "<ShowCode %s at %s expires_in=%d>" % (self.user_code, self.verification_uri, self.expires_in)


class TokensReady:
    kind = "tokens"

    def __init__(self, tokens, rotated=False, received_at=None):
        self.tokens = tokens
        self.rotated = rotated
        self.received_at = received_at  # ticks of the reply: expires_in counts from here

    def __repr__(self):  # names which tokens came, never their values
        t = self.tokens
        have = [k for k in ("access_token", "refresh_token", "id_token") if t.get(k)]
        return "<TokensReady %s expires_in=%s rotated=%s>" % ("+".join(have), t.get("expires_in"), self.rotated)


class Failed:
    kind = "failed"

    def __init__(self, reason, description):
        self.reason = reason
        self.description = description

    def __repr__(self):
        return "<Failed %s: %s>" % (self.reason, self.description)


def terminal(code, description, secret=None):
    """Failed for an OAuth error code, keeping the provider's description (minus any secret)."""
    reason = _ALIASES.get(code, code)
    if secret and secret in reason:
        reason = "unknown_error"  # an error code echoing the secret must not reach the log
    text = description or _SENTENCES.get(reason) or ("The server refused: " + reason)
    if secret and _shares_a_piece(text, secret):
        # The description was cut to fit the screen, so a secret in it may be cut too: any
        # 8-character piece of it drops the whole description.
        text = _SENTENCES.get(reason) or ("The server refused: " + reason)
    return Failed(reason, text)


def _shares_a_piece(text, secret, piece=8):
    for i in range(max(1, len(secret) - piece + 1)):
        if secret[i:i + piece] in text:
            return True
    return False
