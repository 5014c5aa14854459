# The refresh token grant (RFC 6749 §6) as a sans-I/O state machine, like flow.py.
#
#   grant = RefreshGrant(clock, client_id, token_url, stored_refresh_token)
#   action = grant.start(now)                               # Send
#   action = grant.on_response(now, status, headers, body)  # TokensReady, Failed, Wait
#   action = grant.next_action(now)                         # Wait, then Send (the retry)
#
# TokensReady.rotated says the server issued a new refresh token (in tokens): it must reach
# flash before anything else uses it, because reusing the old one may revoke the grant.
# Failed('invalid_grant') means "sign in again". Network failures, 429, 5xx and error
# pages only ever back off: a refresh never fails because the network is down.
from deviceflow.errors import DeviceFlowError, ReplyError
from deviceflow.actions import FORM_HEADERS, TRANSIENT_ERRORS, Failed, Send, TokensReady, Wait, terminal
from deviceflow.clock import backoff_ms
from deviceflow.form import urlencode
from deviceflow.replies import oauth_error, parse_reply, retry_after_ms, token_set

RETRY_BASE_MS = 5000  # the first retry waits 2 x this, then doubles up to max_backoff_ms
_TERMINAL = ("invalid_grant", "invalid_client", "unauthorized_client")


class RefreshGrant:
    def __init__(self, ticks, client_id, token_endpoint, refresh_token, extra_params=None,
                 max_backoff_ms=300000, jitter=None, spread_ms=0):
        self.ticks = ticks
        self.client_id = client_id
        self.token_endpoint = token_endpoint
        self._refresh_token = refresh_token
        self.extra_params = extra_params
        self.max_backoff_ms = max_backoff_ms
        self.jitter = jitter
        self.spread_ms = spread_ms  # a failure the provider caused retries a spread later (backoff_ms)
        self.state = "idle"  # 'idle', 'refreshing', 'waiting', 'done', 'failed'
        self.failures = 0
        self.result = None
        self._due = None

    def __repr__(self):
        return "<RefreshGrant %s failures=%d>" % (self.state, self.failures)

    def _request(self):
        pairs = [("grant_type", "refresh_token"), ("refresh_token", self._refresh_token), ("client_id", self.client_id)]
        if self.extra_params:
            pairs.extend(self.extra_params.items())
        self.state = "refreshing"
        return Send("POST", self.token_endpoint, dict(FORM_HEADERS), urlencode(pairs))

    def start(self, now):
        if self.state == "done":
            raise DeviceFlowError("bad_state", "this refresh token was already used")
        self.failures = 0
        self.result = None
        return self._request()

    def _retry(self, now, retry_after, spread=True):
        """spread=False for a rate limit (429): the provider is up and says when; only an outage
        (5xx, no answer, an error page) sends the device back into the fleet's spread."""
        self.failures += 1
        delay = backoff_ms(RETRY_BASE_MS, self.failures, self.max_backoff_ms, self.jitter, retry_after,
                           self.spread_ms if spread else 0)
        self._due = self.ticks.ticks_add(now, delay)
        self.state = "waiting"
        return Wait(self._due, "backoff")

    def _fail(self, failed):
        self.state = "failed"
        self.result = failed
        return failed

    def on_transport_error(self, now, reason):
        if self.state != "refreshing":
            raise DeviceFlowError("bad_state", "no request in flight")
        return self._retry(now, None)

    def on_response(self, now, status, headers, body):
        if self.state != "refreshing":
            raise DeviceFlowError("bad_state", "no request in flight")
        retry_after = retry_after_ms(headers)
        try:
            reply = parse_reply(headers, body)
        except ReplyError:
            return self._retry(now, retry_after)  # error page, captive portal, cut-off reply
        code, desc = oauth_error(reply)
        if code in _TERMINAL:
            return self._fail(terminal(code, desc, self._refresh_token))
        if code in TRANSIENT_ERRORS or code == "slow_down" or status == 429 or status >= 500:
            limited = status == 429 or code in ("too_many_requests", "slow_down")
            return self._retry(now, retry_after, not limited)
        if code:
            return self._fail(terminal(code, desc, self._refresh_token))
        if status != 200:
            return self._retry(now, retry_after)
        try:
            tokens = token_set(reply)
        except ReplyError as e:
            return self._fail(Failed("bad_reply", e.detail))
        new = tokens["refresh_token"]
        rotated = new is not None and new != self._refresh_token
        if new is None:
            tokens["refresh_token"] = self._refresh_token
        self.state = "done"
        self._refresh_token = None
        return TokensReady(tokens, rotated, now)

    def next_action(self, now):
        """Send the retry once its backoff has passed; Wait until then."""
        if self.state == "failed":
            return self.result
        if self.state in ("idle", "done"):
            raise DeviceFlowError("bad_state", "the refresh is " + self.state)
        if self.state == "refreshing":  # a request is in flight: never send twice
            return Wait(self.ticks.ticks_add(now, RETRY_BASE_MS), "in_flight")
        if self.ticks.ticks_diff(now, self._due) < 0:
            return Wait(self._due, "backoff")
        return self._request()
