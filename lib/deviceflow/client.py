# One object that signs a device in (OAuth 2.0 Device Authorization Grant, RFC 8628) and keeps
# its access token fresh: the library's public API (docs/LIBRARY.md).
#
#   from deviceflow.client import DeviceClient
#   auth = DeviceClient(issuer="https://TENANT.auth0.com/", client_id="...", state_dir="state")
#   r = auth.request("GET", "https://api.example.com/hello")  # signs in first when it must
#
# One state machine (deviceflow/machine.py), three ways to drive it: token() blocks (scripts,
# the REPL); step() runs at most one HTTP exchange and returns the ms until it wants to run
# again (a hand-written loop); token_async() awaits between steps (asyncio). Tokens are kept in
# state_dir/tokens.json (deviceflow.store: atomic, HMAC-tagged) and bound to issuer, client,
# audience and scope; a rotated refresh token is on flash before the new access token is handed
# out. Our firmware's app is built on the same machine (firmware/app.py).
from deviceflow.machine import Machine


class DeviceClient(Machine):
    def token(self):
        """A valid access token, signing in or refreshing as needed (blocks until then).
        Raises the DeviceFlowError (TokenError, ...) that ended a sign-in for good (declined,
        expired, a rejected ID token); the next call starts a new one."""
        while True:
            ms = self.step()
            t = self._ready_token()
            if t:
                return t
            self.clock.sleep_ms(ms)

    async def token_async(self):
        """token() for asyncio: other tasks run between steps (an exchange itself blocks)."""
        import asyncio

        while True:
            ms = self.step()
            t = self._ready_token()
            if t:
                return t
            if hasattr(asyncio, "sleep_ms"):
                await asyncio.sleep_ms(ms)
            else:
                await asyncio.sleep(ms / 1000)

    def _ready_token(self):
        if self.state == "halted":
            err, self.failure = self.failure, None
            if err is not None:
                raise err
            self.new_code()  # signed out earlier: sign in again
            return None
        return self.session.access_token() if self.ready() else None

    def ready(self):
        """Signed in, with an access token that is good and not due for a refresh."""
        return self.state == "idle" and self.session.usable(self.clock.ticks_ms())

    @property
    def signed_in(self):
        """A good access token is at hand (the store is read on first use: no exchange)."""
        now = self.clock.ticks_ms()
        if not self.loaded:
            from deviceflow.starting import load

            load(self, now)
        return self.state != "halted" and self.session.usable(now)

    @property
    def record(self):
        """The stored record (tokens, expiry, name, sub), or None."""
        return self.session.record

    def request(self, method, url, headers=None, body=None):
        """An authorized request (the transport's Response); on 401 the token is refreshed
        (or the device signed in again) and the request sent once more."""
        for attempt in (0, 1):
            h = dict(headers or {})
            h["Authorization"] = "Bearer " + self.token()
            resp = self.exchange(method, url, h, body)
            if resp.status != 401 or attempt:
                return resp
            self.log.error("api_unauthorized", status=401)
            self.unauthorized(False)

    async def request_async(self, method, url, headers=None, body=None):
        await self.token_async()  # sign-in and refresh let other tasks run
        return self.request(method, url, headers, body)

    def unauthorized(self, after_refresh):
        """Your API answered 401: refresh at the next step, or sign in again when there is no
        refresh token or the refused token was just refreshed (`after_refresh`)."""
        from deviceflow.asked import unauthorized

        unauthorized(self, after_refresh)

    def new_code(self):
        """Start a new sign-in (after a failure, or to replace a code on screen)."""
        from deviceflow.asked import new_code

        new_code(self)

    def sign_out(self, wait=True):
        """Revoke the refresh token where the provider can (RFC 7009), then wipe the tokens.
        wait=False: only start it; the next steps do it (a loop that must not block)."""
        from deviceflow.asked import start_sign_out

        start_sign_out(self)
        while wait and self.state == "sign_out":
            self.step()

    def close(self):
        getattr(self.http, "close", lambda: None)()
