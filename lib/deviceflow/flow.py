# The OAuth 2.0 Device Authorization Grant (RFC 8628) as a sans-I/O state machine.
#
# No socket, no clock, no sleep, no randomness of its own: every event carries `now`
# (ticks of the injected clock), every tick sum or difference goes through the `ticks`
# object, and each call returns the next action for the app to carry out.
#
#   flow = DeviceFlow(clock, client_id, device_url, token_url, scope="openid offline_access")
#   action = flow.start(now)                       # Send
#   action = flow.on_response(now, status, headers, body)   # ShowCode, Wait, Failed
#   action = flow.next_action(now)                 # Wait, Send (a poll), Failed (expired)
#   action = flow.on_response(now, ...)            # Wait (pending), TokensReady, Failed
from deviceflow.errors import DeviceFlowError, ReplyError
from deviceflow.actions import FORM_HEADERS, TRANSIENT_ERRORS, Failed, Send, ShowCode, TokensReady, Wait, terminal
from deviceflow.clock import MAX_SPAN_MS, backoff_ms


def _replies():
    # Looked up at each use, never bound here, so that the app can drop the reply parser and
    # the form encoder while the code screen encodes its QR (deviceflow/phase.py); the next
    # poll loads them again.
    from deviceflow import replies

    return replies


def _urlencode(pairs):
    from deviceflow.form import urlencode

    return urlencode(pairs)


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL_MS = 5000  # RFC 8628 §3.2: 5 s when the server sends no interval
SLOW_DOWN_MS = 5000  # RFC 8628 §3.5: each slow_down adds 5 s, cumulatively


class DeviceFlow:
    def __init__(self, ticks, client_id, device_authorization_endpoint, token_endpoint, scope=None,
                 audience=None, extra_params=None, poll_params=None, max_backoff_ms=300000, jitter=None):
        self.ticks = ticks
        self.client_id = client_id
        self.device_authorization_endpoint = device_authorization_endpoint
        self.token_endpoint = token_endpoint
        self.scope = scope
        self.audience = audience
        self.extra_params = extra_params
        self.poll_params = poll_params
        self.max_backoff_ms = max_backoff_ms
        self.jitter = jitter
        self._reset()

    def _reset(self):
        self.state = "idle"
        self.user_code = self.verification_uri = self.verification_uri_complete = None
        self.message = None
        self.expires_at = None
        self.interval_ms = DEFAULT_INTERVAL_MS
        self.failures = 0  # consecutive transient failures
        self.result = None  # the final Failed, once the flow failed
        self._device_code = None
        self._due = None  # ticks at which the next request is due

    def __repr__(self):
        return "<DeviceFlow %s user_code=%s>" % (self.state, self.user_code)

    # ---- requests -------------------------------------------------------------------
    def _device_request(self):
        pairs = [("client_id", self.client_id), ("scope", self.scope), ("audience", self.audience)]
        if self.extra_params:
            pairs.extend(self.extra_params.items())
        self.state = "requesting_code"
        return Send("POST", self.device_authorization_endpoint, dict(FORM_HEADERS), _urlencode(pairs))

    def _poll_request(self):
        pairs = [("grant_type", DEVICE_GRANT), ("device_code", self._device_code), ("client_id", self.client_id)]
        if self.poll_params:
            pairs.extend(self.poll_params.items())
        self.state = "polling"
        return Send("POST", self.token_endpoint, dict(FORM_HEADERS), _urlencode(pairs))

    def start(self, now):
        """Begin (or begin again, after a failure) with the device authorization request."""
        self._reset()
        return self._device_request()

    # ---- outcomes -------------------------------------------------------------------
    def _fail(self, failed):
        self.state = "failed"
        self.result = failed
        self._device_code = None
        return failed

    def _expired(self, now):
        return self.expires_at is not None and self.ticks.ticks_diff(now, self.expires_at) >= 0

    def _expiry(self):
        return self._fail(terminal("expired_token", None))

    def _until(self, t):
        if self.expires_at is not None and self.ticks.ticks_diff(self.expires_at, t) < 0:
            return self.expires_at  # wake up to report the expiry
        return t

    def _wait(self, now, delay, reason):
        self._due = self.ticks.ticks_add(now, delay)
        self.state = "waiting"
        return Wait(self._until(self._due), reason)

    def _transient(self, now, retry_after):
        self.failures += 1
        if self._expired(now):
            return self._expiry()
        delay = backoff_ms(self.interval_ms, self.failures, self.max_backoff_ms, self.jitter, retry_after)
        return self._wait(now, delay, "backoff")

    def on_transport_error(self, now, reason):
        """The request never got an answer (refused, timeout, reset, dns...): back off."""
        if self.state not in ("requesting_code", "polling"):
            raise DeviceFlowError("bad_state", "no request in flight")
        return self._transient(now, None)

    def on_response(self, now, status, headers, body):
        if self.state == "requesting_code":
            return self._on_device_response(now, status, headers, body)
        if self.state == "polling":
            return self._on_poll_response(now, status, headers, body)
        raise DeviceFlowError("bad_state", "no request in flight")

    def _on_device_response(self, now, status, headers, body):
        try:
            reply = _replies().parse_reply(headers, body)
        except ReplyError as e:
            if status == 200:
                return self._fail(Failed("bad_reply", e.detail))
            return self._transient(now, _replies().retry_after_ms(headers))  # an error page: retry later
        code, desc = _replies().oauth_error(reply)
        if code in TRANSIENT_ERRORS or code == "slow_down":
            return self._transient(now, _replies().retry_after_ms(headers))
        if code:
            return self._fail(terminal(code, desc))
        if status != 200:
            return self._transient(now, _replies().retry_after_ms(headers))
        return self._accept_code(now, reply)

    def _accept_code(self, now, reply):
        device_code = reply.get("device_code")
        user_code = reply.get("user_code")
        uri = reply.get("verification_uri") or reply.get("verification_url")  # Google: _url
        expires_in = _replies().as_int(reply.get("expires_in"))
        for name, value in (("device_code", device_code), ("user_code", user_code), ("verification_uri", uri)):
            if not isinstance(value, str) or not value:
                return self._fail(Failed("bad_reply", "the device code reply has no " + name))
        if not expires_in:
            return self._fail(Failed("bad_reply", "the device code reply has no expires_in"))
        interval = _replies().as_int(reply.get("interval"))
        self.interval_ms = min(interval * 1000, MAX_SPAN_MS) if interval else DEFAULT_INTERVAL_MS
        self._device_code = device_code
        self.user_code = user_code
        self.verification_uri = uri
        complete = reply.get("verification_uri_complete")
        self.verification_uri_complete = complete if isinstance(complete, str) and complete else None
        self.message = _replies().short_text(reply.get("message"), 400)
        self.expires_at = self.ticks.ticks_add(now, min(expires_in * 1000, MAX_SPAN_MS))
        self.failures = 0
        self._wait(now, self.interval_ms, "poll")  # the first poll also waits one interval
        return ShowCode(user_code, uri, self.verification_uri_complete, self.message, self.expires_at, expires_in)

    def _on_poll_response(self, now, status, headers, body):
        retry_after = _replies().retry_after_ms(headers)
        try:
            reply = _replies().parse_reply(headers, body)
        except ReplyError:
            return self._transient(now, retry_after)  # error page, captive portal, cut-off reply
        code, desc = _replies().oauth_error(reply)
        if code == "authorization_pending" or code == "slow_down":
            if code == "slow_down":
                self.interval_ms = min(self.interval_ms + SLOW_DOWN_MS, MAX_SPAN_MS)
                server = _replies().as_int(reply.get("interval"))
                if server and server * 1000 > self.interval_ms:
                    self.interval_ms = min(server * 1000, MAX_SPAN_MS)  # GitHub sends the new one
            self.failures = 0
            if self._expired(now):
                return self._expiry()
            # Retry-After is honoured, but no tick span may reach 2^29 ms (an ESP32's ticks_add
            # raises): capped at one day, and the code expires before that anyway.
            return self._wait(now, min(max(self.interval_ms, retry_after or 0), MAX_SPAN_MS), "poll")
        if code in TRANSIENT_ERRORS:
            return self._transient(now, retry_after)
        if code:
            return self._fail(terminal(code, desc, self._device_code))
        if status != 200:
            return self._transient(now, retry_after)
        try:
            tokens = _replies().token_set(reply)
        except ReplyError as e:
            return self._fail(Failed("bad_reply", e.detail))
        self.state = "done"
        self._device_code = None
        return TokensReady(tokens, False, now)

    # ---- the app's loop -------------------------------------------------------------
    def next_action(self, now):
        """Send when a request is due, Wait until it is, Failed('expired_token') once expired."""
        if self.state == "failed":
            return self.result
        if self.state in ("idle", "done"):
            raise DeviceFlowError("bad_state", "the flow is " + self.state)
        if self._expired(now):
            return self._expiry()
        if self.state != "waiting":  # a request is in flight: never send twice
            return Wait(self._until(self.ticks.ticks_add(now, self.interval_ms)), "in_flight")
        if self.ticks.ticks_diff(now, self._due) < 0:
            return Wait(self._until(self._due), "backoff" if self.failures else "poll")
        if self._device_code is None:
            return self._device_request()
        return self._poll_request()

