# Signing in: the device flow (code on screen, polling), then validating the tokens and
# storing them. Part of the App state machine (firmware/app.py), in its own module because
# it is one job: from "no usable token" to "tokens on flash".
from deviceflow.actions import backoff_ms
from deviceflow.errors import DeviceFlowError, TLSError, TokenError, TransportError
from deviceflow.phase import drop
from session import make_record

# Failed reasons from the engine -> screen kinds
_SCREEN_FOR_REASON = {"access_denied": "denied", "expired_token": "expired"}
# Failures that mean "not now", with the screen they get: Google's quota error (`error_code`),
# which its guide says to retry with backoff, and a 200 that is no OAuth reply (a captive portal
# or a proxy's page far more often than a broken provider). The app starts the flow again later
# (backoff) instead of halting until someone presses a button.
_RETRY_LATER = {"rate_limit_exceeded": ("provider", "Provider busy; trying again later."),
                "bad_reply": ("network", "Unexpected answer from the server; retrying later")}
MAX_BACKOFF_MS = 300000


class SignIn:
    """Mixed into App: the device-flow and validate-and-store states."""

    # ---- device flow ---------------------------------------------------
    def _device_start(self, now):
        from deviceflow.flow import DeviceFlow

        ep = self.endpoints
        self.flow = DeviceFlow(self.clock, self.cfg["client_id"], ep.get("device_authorization_endpoint"),
                               ep.get("token_endpoint"), scope=ep.scope or None,
                               extra_params=ep.device_params(),
                               poll_params=ep.poll_params(), max_backoff_ms=MAX_BACKOFF_MS, jitter=self.rand)
        self.screen.message("connecting")
        self.state = "device_poll"
        self._carry_out(now, self.flow.start(now))

    def _device_poll(self, now):
        self._carry_out(now, self.flow.next_action(now))

    def _perform(self, engine, send, state):
        """Carry out an engine's Send and return the engine's answer to what came back."""
        try:
            resp = self._exchange(send.method, send.url, send.headers, send.body)
        except TransportError as e:
            self.log.error(e.reason, detail=e.detail, state=state)
            if isinstance(e, TLSError):
                self._clock_suspect(e)
                self.screen.message("tls", e.detail or e.reason)
            else:
                self.endpoints.forget_discovery()  # a cached endpoint may be gone: re-fetch next boot
                if not self.screen.code_shown:  # the code, once shown, stays up
                    self.screen.message("network", e.detail or e.reason)
            return engine.on_transport_error(self.clock.ticks_ms(), e.reason)
        if resp.status == 404:
            self.endpoints.forget_discovery()  # no such endpoint (any more): re-fetch next boot
        action = engine.on_response(self.clock.ticks_ms(), resp.status, resp.headers, resp.body)
        if action.kind == "wait" and action.reason == "backoff":
            self._server_trouble(resp, state)
        return action

    def _carry_out(self, now, action):
        """Carry out one engine action; a Send is performed and its result handled too."""
        kind = action.kind
        if kind == "send":
            return self._carry_out(now, self._perform(self.flow, action, "device_poll"))
        if kind == "wait":
            self._sleep_until(action.until)
            self.screen.poll_phase()
        elif kind == "show_code":
            self.busy_refusals = 0
            self.log.event("show_code", user_code=action.user_code,
                           verification_uri=action.verification_uri,
                           verification_uri_complete=action.verification_uri_complete,
                           expires_in=action.expires_in)
            self.screen.code(action, now)
            self._prefetch_jwks(now)
            self._carry_out(now, self.flow.next_action(now))
        elif kind == "tokens":
            self.log.event("approved")
            self.screen.code_shown = False
            self.pending = action.tokens
            self.jwks_refetched = False
            self.flow = None  # the device flow is over: its code can go before validation loads
            drop("deviceflow.flow", "deviceflow.replies", "deviceflow.form")
            self._goto("validate")
        elif kind == "failed":
            self._flow_failed(action)

    def _prefetch_jwks(self, now):
        """Load the signing keys while the user is still on the way (the first poll waits one
        interval anyway), so approval -> tokens stored costs one round trip, not two."""
        if "openid" not in (self.endpoints.scope or "").split() or not self.endpoints.get("jwks_uri"):
            return
        try:
            self.endpoints.prefetch_jwks()
        except (TransportError, DeviceFlowError) as e:
            self.log.error(e.reason, detail=e.detail, state="jwks_prefetch")  # _validate retries

    def _flow_failed(self, action):
        later = _RETRY_LATER.get(action.reason)
        if later:
            self.log.error(action.reason, detail=action.description, state="device_start")
            self.screen.message(later[0], later[1])
            delay = backoff_ms(5000, self.busy_refusals, MAX_BACKOFF_MS, self.rand)
            self.busy_refusals += 1
            self._goto("device_start", delay)
            return
        self.screen.code_shown = False
        self.log.error(action.reason, detail=action.description)
        self.screen.message(_SCREEN_FOR_REASON.get(action.reason, "provider"), action.description)
        if self.once:
            self.exit_code = 3
        self._goto("halted")

    def _halted(self, now):
        self._goto("halted", 3600 * 1000)  # only a button press moves on

    # ---- validate and store ---------------------------------------------
    def _validate(self, now):
        from deviceflow import jwt

        tokens = self.pending
        jwt.check_token_type(tokens.get("token_type"))
        claims = None
        if tokens.get("id_token"):
            jwks = self.endpoints.jwks(now, refetch=False)  # may fetch (one exchange)
            try:
                # `iss` must equal the issuer discovery published (Auth0 adds a trailing "/").
                issuer = self.endpoints.get("issuer") or self.endpoints.issuer
                claims = jwt.validate_id_token(tokens["id_token"], jwks, issuer,
                                               self.cfg["client_id"], self.clock.time())
            except TokenError as e:
                if e.reason == "clock_unset":
                    # Never accept or reject on a bogus date: say why, try to set the clock, retry.
                    self.log.error("clock_unset", detail="cannot check the sign-in's expiry without the time")
                    self.screen.message("error", "Clock not set: cannot check the sign-in yet. Retrying.")
                    self.platform.set_clock()
                    self._goto("validate", 10000)
                    return
                if e.reason == "unknown_kid" and not self.jwks_refetched:
                    self.jwks_refetched = True
                    self.endpoints.jwks(now, refetch=True)
                    return  # validate again on the next step with the new keys
                self.pending = None
                self.log.error("id_token_" + e.reason, detail=e.detail)
                self.screen.message("error", "Sign-in rejected: " + (e.detail or e.reason))
                self._goto("halted")
                return
            self.log.event("id_token_ok", sub=claims.get("sub"))
        del jwt
        self.endpoints.release_keys()
        drop("deviceflow.jwt", "deviceflow.rsa", "deviceflow.b64")
        self._save(now, tokens, claims, fresh=True)
        self.pending = None
        self.api_at = now
        if claims is not None and not self.session.record.get("name") and self.endpoints.get("userinfo_endpoint"):
            self._goto("userinfo")  # the id_token names nobody (node oidc-provider): ask once
            return
        self.screen.message("success", self.session.record.get("name"))
        self._goto("api")

    def _userinfo(self, now):
        """OIDC Core 5.3: the user's name for the success screen, once after sign-in. The reply's
        `sub` must equal the id_token's (5.3.2), or it is not used. A failure costs only the name."""
        rec = self.session.record
        name = None
        try:
            resp = self._exchange("GET", self.endpoints.get("userinfo_endpoint"),
                                  {"Authorization": "Bearer " + self.session.access_token(),
                                   "Accept": "application/json"})
            import json

            info = json.loads(resp.body) if resp.status == 200 else None
            same = isinstance(info, dict) and info.get("sub") == rec.get("sub")
            if same:
                name = info.get("name") or info.get("preferred_username") or info.get("email")
            self.log.event("userinfo", status=resp.status, sub_match=1 if same else 0, name=1 if name else 0)
        except (TransportError, ValueError) as e:
            self.log.error(getattr(e, "reason", "userinfo"), detail="userinfo: " + str(getattr(e, "detail", e)))
        if isinstance(name, str) and name:
            rec["name"] = name[:64]
            self._persist(rec, now)
        self.screen.message("success", rec.get("name"))
        self._goto("api")

    def _save(self, now, tokens, claims, fresh):
        # The new record (and a rotated refresh token in it) is written to flash before the new
        # access token is used anywhere. When the write fails (flash full, I/O error), the new
        # tokens are used from RAM all the same and only the write is retried (_persist): the
        # grant is spent, and the refresh token still on flash may be revoked for reuse.
        record = make_record(tokens, self.clock.time(), claims, self.session.record, self.endpoints.binding())
        self._persist(record, now)
        self.session.adopt(record, fresh, now)

    def _persist(self, record, now):
        """Write `record` to flash; on a StoreError keep it for a retry with backoff (step())."""
        from deviceflow.errors import StoreError

        try:
            self.store.save(record)
        except StoreError as e:
            if e.reason in ("too_large", "bad_record"):  # the record, not the flash: no retry helps
                self.unsaved = None
                self.log.error("store_" + e.reason, detail=e.detail)
                return
            delay = backoff_ms(2000, self.save_failures, MAX_BACKOFF_MS, self.rand)
            self.save_failures += 1
            self.unsaved = record
            self.save_at = self.clock.ticks_add(self.clock.ticks_ms(), delay)
            self.log.error("store_" + e.reason, detail=e.detail, retry_ms=delay, attempt=self.save_failures)
            return
        self.unsaved = None
        self.save_failures = 0
        self.log.event("tokens_stored", refresh=1 if record.get("refresh_token") else 0,
                       expires_in=record.get("expires_in"))
