# One object that signs a device in (OAuth 2.0 Device Authorization Grant, RFC 8628) and keeps
# its access token fresh: the library's public API (docs/LIBRARY.md).
#
#   from deviceflow.client import DeviceClient
#   auth = DeviceClient(issuer="https://TENANT.auth0.com/", client_id="...", state_dir="state")
#   r = auth.request("GET", "https://api.example.com/hello")  # signs in first when it must
#
# One engine, three ways to drive it: token() blocks (scripts, the REPL); step() does at most
# one HTTP exchange and returns the ms until it wants to run again (a hand-written loop);
# token_async() awaits between steps (asyncio). Tokens are kept in state_dir/tokens.json
# (deviceflow.store: atomic, HMAC-tagged) and bound to issuer, client, audience and scope; a
# rotated refresh token is on flash before the new access token is handed out. The record, its
# store and its expiry are deviceflow.session's, as in the firmware's app. Events go to
# on_event(name, **fields): code, signed_in, refreshed, revoked, signed_out, error (reason,
# detail); never a token or device code. Engines are imported when used and dropped after
# (deviceflow/phase.py), so a wake with a valid token loads neither the flow nor the JWT code.
from deviceflow.errors import ConfigError, DeviceFlowError, StoreError, TokenError, TransportError
from deviceflow.phase import drop
from deviceflow.session import Session, binding, make_record

ENDPOINT_KEYS = ("device_authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "revocation_endpoint")
MAX_BACKOFF_MS = 300000
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_STORE_CODE = ("deviceflow.store", "deviceflow.hmac_sha256")  # in the heap only while it reads or writes


class DeviceClient:
    def __init__(self, config=None, clock=None, transport=None, state_dir=None, show=None,
                 surface=None, on_event=None, **options):
        cfg = dict(config or {})
        cfg.update(options)
        for key in ("issuer", "client_id"):
            if not isinstance(cfg.get(key), str) or not cfg[key]:
                raise ConfigError(key, "required")
        self.cfg = cfg
        if clock is None:
            from deviceflow.clock import SystemClock
            clock = SystemClock()
        self.clock = clock
        if transport is None:
            from deviceflow.http import Transport
            transport = Transport(ca_file=cfg.get("ca_file"), timeout_ms=cfg.get("timeout_ms", 10000))
        self.http = transport
        self.state_dir = state_dir or cfg.get("state_dir") or "."
        self.show = show  # show(code): code.user_code, .verification_uri(_complete), .expires_in
        self.surface = surface  # or a framebuf-like surface the code screen is drawn on
        self.on_event = on_event
        # The record, its store (set up on the first step: the device key needs the store's
        # code) and when it expires; refreshed a margin before then.
        self.session = Session(clock, None, cfg.get("refresh_margin_s", 60), 0, 0)
        self.urls = None  # the endpoints, once known
        from deviceflow import discovery, providers

        p = providers.profile_for(cfg.get("provider") or "auto", cfg["issuer"])
        self.scope = p.scope(cfg)
        self._device_params, self._poll_params = p.device_params(cfg), p.poll_params(cfg)
        self._base = p.endpoints()
        self._base.update((k, cfg[k]) for k in ENDPOINT_KEYS if cfg.get(k))
        self._discover = discovery.needs_discovery(p, self._base, self.scope)
        self._issuer = p.issuer or cfg["issuer"]  # the `iss` of ID tokens; discovery may respell it
        del p, discovery, providers
        drop("deviceflow.providers", "deviceflow.discovery", "deviceflow.boundcache")
        self._key = None
        self._loaded = False
        self._engine = None  # the DeviceFlow or RefreshGrant under way
        self._refreshing = False  # the engine is a RefreshGrant
        self._pending = None  # TokensReady awaiting the ID token check and the store
        self._jwks = None
        self._refetched = False
        self._meta = 0  # which metadata URL discovery tries next
        self._wake = None
        self._failures = 0

    # ---- driving --------------------------------------------------------------------
    def token(self):
        """A valid access token, signing in or refreshing as needed (blocks until then).
        Raises DeviceFlowError when the sign-in ends for good (declined, expired, bad client)."""
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

    @property
    def signed_in(self):
        return self._ready_token() is not None

    def step(self):
        """Move on by at most one HTTP exchange; return ms until the next step is wanted
        (0: at once; while signed in, until the token wants refreshing)."""
        now = self.clock.ticks_ms()
        if self._wake is not None and self.clock.ticks_diff(self._wake, now) > 0:
            return self.clock.ticks_diff(self._wake, now)
        self._wake = None
        try:
            wait = self._advance(now)
        except TransportError as e:  # discovery or the JWKS: retried after a backoff
            from deviceflow.clock import backoff_ms

            self._event("error", reason=e.reason, detail=e.detail)
            wait = backoff_ms(2000, self._failures, MAX_BACKOFF_MS)
            self._failures += 1
        if wait > 0:
            self._wake = self.clock.ticks_add(self.clock.ticks_ms(), wait)
        return wait

    def _advance(self, now):
        if not self._loaded:
            self._load(now)
        if self._engine is None and self._pending is None and self._valid(now):  # until it is due
            at = self.session.refresh_at or self.session.deadline
            return max(1, self.clock.ticks_diff(at, now)) if at is not None else 3600000
        if self.urls is None:
            return self._resolve()
        if self._pending is not None:
            return self._accept(now)
        if self._engine is None:
            rt = self.session.refresh_token()
            self._refreshing = bool(rt)
            if rt:
                from deviceflow.refresh import RefreshGrant
                self._engine = RefreshGrant(self.clock, self.cfg["client_id"], self.urls["token_endpoint"], rt,
                                            extra_params=self._poll_params, max_backoff_ms=MAX_BACKOFF_MS)
            else:
                from deviceflow.flow import DeviceFlow
                self._engine = DeviceFlow(self.clock, self.cfg["client_id"],
                                          self.urls["device_authorization_endpoint"], self.urls["token_endpoint"],
                                          self.scope or None, extra_params=self._device_params,
                                          poll_params=self._poll_params, max_backoff_ms=MAX_BACKOFF_MS)
            return self._carry_out(now, self._engine.start(now))
        return self._carry_out(now, self._engine.next_action(now))

    def _carry_out(self, now, action):
        engine = self._engine
        if action.kind == "send":
            try:
                resp = self.http.request(action.method, action.url, action.headers, action.body)
            except TransportError as e:
                self._event("error", reason=e.reason, detail=e.detail)
                action = engine.on_transport_error(self.clock.ticks_ms(), e.reason)
            else:
                action = engine.on_response(self.clock.ticks_ms(), resp.status, resp.headers, resp.body)
                if action.kind == "wait" and action.reason == "backoff":
                    self._event("error", reason="server_busy", detail="HTTP %d; retrying later" % resp.status)
        if action.kind == "show_code":
            self._event("code", user_code=action.user_code, verification_uri=action.verification_uri,
                        verification_uri_complete=action.verification_uri_complete, expires_in=action.expires_in)
            self._show(action)
            action = engine.next_action(now)
        if action.kind == "wait":
            return max(0, self.clock.ticks_diff(action.until, self.clock.ticks_ms()))
        self._engine = None
        drop("deviceflow.flow", "deviceflow.refresh", "deviceflow.replies", "deviceflow.form", "deviceflow.actions")
        if action.kind == "tokens":
            self._pending = action
            return 0
        self._event("error", reason=action.reason, detail=action.description)
        if action.reason == "invalid_grant" and self.record is not None:
            self._forget()  # the grant is gone (revoked, expired, reused): sign in again
            return 0
        raise DeviceFlowError(action.reason, action.description)

    # ---- endpoints, tokens, the store ----------------------------------------------------
    def _resolve(self):
        from deviceflow import discovery

        doc = None
        if self._discover:
            cache = discovery.DiscoveryCache(self._store("discovery.json"), self._bound(("issuer", "client_id")))
            doc = cache.load(self.cfg["issuer"])
            if doc is None:
                url = discovery.metadata_urls(self.cfg["issuer"])[self._meta]
                resp = self.http.request("GET", url, {"Accept": "application/json"})
                if resp.status == 404 and self._meta == 0:
                    self._meta = 1  # no OpenID document: RFC 8414's next
                    return 0
                if resp.status != 200:
                    raise TransportError("discovery_status", "discovery answered HTTP %d" % resp.status)
                doc = discovery.parse_discovery(resp.body, self.cfg["issuer"])
                try:
                    cache.save(doc)
                except StoreError:
                    pass  # fetched again next time
        self.urls = discovery.merge_endpoints(doc, self._base)
        self._issuer = self.urls.get("issuer") or self._issuer
        del discovery
        drop("deviceflow.discovery", "deviceflow.boundcache", _STORE_CODE[0], _STORE_CODE[1])
        return 0

    def _accept(self, now):
        tokens = self._pending.tokens
        claims = None
        if tokens.get("id_token") and "openid" in self.scope.split():
            if self._jwks is None:
                self._jwks = self._fetch_jwks()  # one exchange; checked on the next step
                return 0
            claims = self._check_id_token(tokens["id_token"])
            if claims is None:
                return 0  # unknown key: the JWKS is fetched again once
        old = self.record or {}
        if self._refreshing and claims and old.get("sub") and claims.get("sub") != old["sub"]:  # OIDC Core 12.2
            self._pending = None
            self._event("error", reason="id_token_sub", detail="the refreshed ID token names another user")
            raise TokenError("sub", "the refreshed ID token names another user")
        rotated = self._pending.rotated
        self._pending = None
        rec = make_record(tokens, self.clock.time(), claims, self.record, self._bound())
        try:
            self.session.write(rec)  # before the new access token (and a rotated refresh token) is used
        except StoreError as e:
            self._event("error", reason="store_" + e.reason, detail=e.detail)
        self.session.adopt(rec, True, now)
        self._failures = 0
        if self._refreshing:
            self._event("refreshed", rotated=bool(rotated))
        else:
            self._event("signed_in", sub=rec["sub"], user=rec["name"])
        return 0

    def _fetch_jwks(self):
        url = self.urls.get("jwks_uri")
        if not url:
            raise DeviceFlowError("no_jwks_uri", "the provider publishes no jwks_uri; set it in the config")
        resp = self.http.request("GET", url, {"Accept": "application/json"})
        if resp.status != 200:
            raise TransportError("jwks_status", "JWKS answered HTTP %d" % resp.status)
        from deviceflow.jwt import JWKS

        return JWKS.parse(resp.body)

    def _check_id_token(self, id_token):
        from deviceflow import jwt

        try:
            return jwt.validate_id_token(id_token, self._jwks, self._issuer, self.cfg["client_id"], self.clock.time())
        except TokenError as e:
            if e.reason == "unknown_kid" and not self._refetched:
                self._refetched = True
                self._jwks = None
                return None
            if e.reason == "clock_unset":
                return e.claims  # signature, iss and aud checked; only the dates cannot be
            self._pending = None
            self._event("error", reason="id_token_" + e.reason, detail=e.detail)
            raise
        finally:
            del jwt
            drop("deviceflow.jwt", "deviceflow.rsa", "deviceflow.b64")

    @property
    def record(self):
        """The stored record (tokens, expiry, name, sub), or None."""
        return self.session.record

    def _bound(self, keys=None):
        bound = binding(self.cfg, self.scope)
        return bound if keys is None else dict((k, bound[k]) for k in keys)

    def _store(self, name="tokens.json"):
        """The tokens' store, or a cache's under the same device key (deviceflow.flashstore)."""
        if self.session.store is None:
            from deviceflow.flashstore import FlashStore
            from deviceflow.store import load_or_create_key

            self._key = load_or_create_key(self.state_dir + "/device.key")
            self.session.store = FlashStore(self.state_dir + "/tokens.json", self._key)
            drop(*_STORE_CODE)
        store = self.session.store
        return store if name == "tokens.json" else store.sibling(self.state_dir + "/" + name)

    def _load(self, now):
        self._loaded = True
        self._store()
        why = self.session.load(now, self._bound())
        if why:  # unreadable, or another tenant's or client's tokens: never sent anywhere
            reason = why[1] if why[0] == "store" else "foreign"
            self._event("error", reason="store_" + reason, detail="stored tokens discarded")

    def _valid(self, now):
        """The access token may be used: not expired, and no refresh due yet."""
        return self.session.access_valid(now) and not self.session.refresh_due(now)

    def _ready_token(self):
        if not self._loaded:
            self._load(self.clock.ticks_ms())
        if self._engine is None and self._pending is None and self._valid(self.clock.ticks_ms()):
            return self.session.access_token()
        return None

    def _forget(self):
        self._engine = self._pending = self._wake = None
        self._store()
        self.session.forget(self.clock.ticks_ms())

    def _event(self, name, **fields):
        if self.on_event is not None:
            self.on_event(name, **fields)

    def _show(self, code):
        if self.show is not None:
            self.show(code)
        elif self.surface is not None:
            from deviceflow.codescreen import CodeScreen

            s = self.surface
            CodeScreen(s.width, s.height, code.user_code, code.verification_uri,
                       code.verification_uri_complete).draw(s, code.expires_in)
            getattr(s, "show", lambda: None)()
            drop("deviceflow.codescreen", "deviceflow.codedraw")
        else:
            print("To sign in, visit", code.verification_uri, "and enter", code.user_code)

    # ---- using the token -------------------------------------------------------------------
    def request(self, method, url, headers=None, body=None):
        """An authorized request (the transport's Response); on 401 the token is refreshed
        (or the device signed in again) and the request sent once more."""
        for attempt in (0, 1):
            h = dict(headers or {})
            h["Authorization"] = "Bearer " + self.token()
            resp = self.http.request(method, url, h, body)
            if resp.status != 401 or attempt:
                return resp
            self._event("error", reason="api_unauthorized", detail="HTTP 401; refreshing")
            if self.record and not self.record.get("refresh_token"):
                self._forget()
            self.session.expire(self.clock.ticks_ms())
            self._wake = None

    async def request_async(self, method, url, headers=None, body=None):
        await self.token_async()  # sign-in and refresh let other tasks run
        return self.request(method, url, headers, body)

    def sign_out(self):
        """Revoke the refresh token where the provider can (RFC 7009), then wipe the tokens."""
        if not self._loaded:
            self._load(self.clock.ticks_ms())
        rt = self.session.refresh_token()
        try:
            while rt and self.urls is None:
                self._resolve()
            url = rt and self.urls.get("revocation_endpoint")
            if url:
                from deviceflow.form import revocation_form

                body = revocation_form(rt, self.cfg["client_id"])
                self._event("revoked", status=self.http.request("POST", url, dict(_FORM), body).status)
        except TransportError as e:
            self._event("error", reason=e.reason, detail="revocation failed; wiping the tokens anyway")
        self._forget()
        self._event("signed_out")

    def close(self):
        getattr(self.http, "close", lambda: None)()
