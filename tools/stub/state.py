"""What the stub remembers: settings, device codes, grants (refresh-token families), the log.

Every public method takes the lock, so the threaded HTTP server can call them freely. OAuth
methods return (status, json_dict) exactly as Auth0 would answer. Time: `time.monotonic()` for
intervals and expiry, `time.time()` for JWT claims.
"""
import copy
import math
import secrets
import threading
import time
from urllib.parse import quote

from . import providers, usercode

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_TOLERANCE = 0.9   # a poll sooner than 90% of the interval is "too fast"
LOG_LIMIT = 10000

DEFAULTS = {
    "approve_after": None,   # seconds after the code was issued; None = never (use the page)
    "deny_after": None,
    "interval": 5,
    "expires_in": 900,
    "access_ttl": 86400,
    "id_ttl": 36000,
    "rotation": True,
    "client_id": "demo-device-client",
    "audience": "https://api.example.com/",
    "user": {"sub": "auth0|65f0c0ffee0000000000d1ce", "name": "Ada Lovelace",
             "email": "ada@example.com"},
    # {"status": 503, "body": "...", "content_type": "text/html", "count": 1,
    #  "paths": ["/oauth/token"], "headers": {...}, "delay": 0, "drop": false,
    #  "body_size": N, "cut": N, "reset": false, "drip": S, "no_length": false}
    #  (see tools/stub_server.py)
    "force": None,
    # provider modes (tools/stub/providers.py): the reply shapes of another provider
    "provider": "auth0",
    "form_replies": False,     # github mode: form-encoded replies even to Accept: application/json
    "client_secret": None,     # google mode: token requests must carry this client_secret
    "quota_exceeded": 0,       # refuse this many device requests with the mode's quota error
    # Auth0's Device User Code Settings (tools/stub/usercode.py)
    "user_code_charset": usercode.DEFAULT_CHARSET,
    "user_code_mask": usercode.DEFAULT_MASK,
    # metadata documents served: "openid" (/.well-known/openid-configuration), "oauth" (RFC 8414
    # /.well-known/oauth-authorization-server only, as a plain OAuth 2.0 server), "both", "none"
    "discovery": "openid",
}
DISCOVERY_MODES = ("openid", "oauth", "both", "none")
TENANT_LOG_LIMIT = 1000


def _err(status, error, description):
    return status, {"error": error, "error_description": description}


class Authority:
    def __init__(self, keys, base_url, settings=None):
        self.keys = keys
        self.base_url = base_url
        self.issuer = base_url + "/"
        self.lock = threading.Lock()
        self.startup = copy.deepcopy(DEFAULTS)
        self.startup.update(settings or {})
        self.next_conn = 0
        self.issued = []   # every secret ever handed out, (kind, value); reset() keeps it
        self.reset()

    # ---- settings, log, stats -------------------------------------------------------------

    def reset(self):
        with self.lock:
            self.settings = copy.deepcopy(self.startup)
            self.codes = {}        # device_code -> record
            self.by_user = {}      # user_code -> record
            self.grants = {}       # grant id -> {"revoked": bool, ...}
            self.refresh = {}      # refresh_token -> {"grant": id, "rotated": bool}
            self.log = []
            self.tenant_logs = []  # Auth0 tenant log events (tenant_log)
            self.stats = {"connections": 0, "tls_handshakes": 0, "tls_failures": 0, "requests": 0}

    def configure(self, changes):
        unknown = [k for k in changes if k not in DEFAULTS]
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        try:
            providers.check_settings(changes)
            with self.lock:
                merged = dict(self.settings, **changes)
            usercode.check(merged["user_code_charset"], merged["user_code_mask"])
        except ValueError as e:
            raise KeyError(str(e))
        if changes.get("discovery", "openid") not in DISCOVERY_MODES:
            raise KeyError("discovery must be one of " + ", ".join(DISCOVERY_MODES))
        with self.lock:
            self.settings.update(copy.deepcopy(changes))
            return copy.deepcopy(self.settings)

    def config(self):
        with self.lock:
            return copy.deepcopy(self.settings)

    def new_connection(self):
        with self.lock:
            self.next_conn += 1
            self.stats["connections"] += 1
            return self.next_conn

    def count(self, name):
        with self.lock:
            self.stats[name] += 1

    def get_stats(self):
        with self.lock:
            return dict(self.stats)

    def record(self, entry):
        with self.lock:
            self.stats["requests"] += 1
            self.log.append(entry)
            del self.log[:-LOG_LIMIT]

    def requests(self):
        with self.lock:
            return copy.deepcopy(self.log)

    def tenant_log(self, code, client_id, description):
        """An event as Auth0's tenant logs show it (Dashboard > Monitoring > Logs): fdeaz failed
        device authorization request, fdeac failed device activation, fdecc user cancelled the
        device confirmation, fede failed / sede successful exchange of a device code for tokens.
        Callers hold the lock. Never a code or token in the description."""
        self.tenant_logs.append({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                 "type": code, "client_id": client_id, "description": description})
        del self.tenant_logs[:-TENANT_LOG_LIMIT]

    def tenant_log_locked(self, code, client_id, description):
        with self.lock:
            self.tenant_log(code, client_id, description)

    def tenant_log_events(self):
        with self.lock:
            return copy.deepcopy(self.tenant_logs)

    def secrets(self):
        """Every device code and token issued since start (reset() does not forget them), so
        tests can prove none of them ever shows up in a log, a screen or a URL."""
        with self.lock:
            out = {"device_code": [], "access_token": [], "refresh_token": [], "id_token": []}
            for kind, value in self.issued:
                out[kind].append(value)
            return out

    def take_fault(self, path):
        """The forced reply for this request, if one is armed for `path` (its count goes down)."""
        with self.lock:
            f = self.settings.get("force")
            if not f or f.get("count", 1) <= 0:
                return None
            paths = f.get("paths")
            if paths and not any(path.startswith(p) for p in paths):
                return None
            f["count"] = f.get("count", 1) - 1
            return dict(f)

    # ---- device authorization ---------------------------------------------------------------

    def device_code(self, form):
        with self.lock:
            status, body = self._device_code(form)
            if status != 200:
                self.tenant_log("fdeaz", form.get("client_id"), body["error_description"])
            return status, body

    def _device_code(self, form):
        s = self.settings
        client_id = form.get("client_id")
        if not client_id:
            return _err(400, "invalid_request", "Missing required parameter: client_id")
        if client_id != s["client_id"]:
            return _err(401, "invalid_client", "Unknown client.")
        charset, mask = s["user_code_charset"], s["user_code_mask"]
        user_code = usercode.generate(charset, mask)
        while usercode.key(user_code, charset) in self.by_user:
            user_code = usercode.generate(charset, mask)
        now = time.monotonic()
        rec = {"device_code": secrets.token_urlsafe(32), "user_code": user_code,
               "client_id": client_id, "scope": form.get("scope", ""),
               "audience": form.get("audience") or s["audience"], "issued": now,
               "expires_at": now + s["expires_in"], "interval": s["interval"],
               "last_poll": None, "slow_downs": 0, "state": "pending", "expired_told": False,
               "user": None}
        self.codes[rec["device_code"]] = rec
        self.issued.append(("device_code", rec["device_code"]))
        self.by_user[usercode.key(user_code, charset)] = rec
        uri = self.base_url + "/activate"
        return 200, {"device_code": rec["device_code"], "user_code": user_code,
                     "verification_uri": uri,
                     "verification_uri_complete": uri + "?user_code=" + quote(user_code),
                     "expires_in": s["expires_in"], "interval": s["interval"]}

    def _lookup(self, user_code):
        return self.by_user.get(usercode.key(user_code, self.settings["user_code_charset"]))

    def _pending(self, user_code):
        """The record a person may still confirm, else None and an fdeac tenant log event (a
        failed device activation). Caller holds the lock."""
        rec = self._lookup(user_code)
        if rec is None or rec["state"] != "pending" or time.monotonic() >= rec["expires_at"]:
            self.tenant_log("fdeac", rec["client_id"] if rec else None,
                            "Invalid user code" if rec is None else "Expired or already used user code")
            return None
        return rec

    def pending_code(self, user_code):
        """The record a person may still confirm on the activation page (a copy), else None."""
        with self.lock:
            rec = self._pending(user_code)
            return dict(rec) if rec is not None else None

    def decide(self, user_code, approve):
        """The user's answer on the activation page; False when the code is not pending."""
        with self.lock:
            rec = self._pending(user_code)
            if rec is None:
                return False
            self._decide(rec, approve)
            return True

    def expire_codes(self):
        """Every pending code runs out now, as if its expires_in had passed; returns how many."""
        with self.lock:
            now = time.monotonic()
            live = [r for r in self.codes.values() if r["state"] == "pending" and now < r["expires_at"]]
            for rec in live:
                rec["expires_at"] = now
            return len(live)

    def _decide(self, rec, approve):
        rec["state"] = "approved" if approve else "denied"
        rec["user"] = copy.deepcopy(self.settings["user"])
        if not approve:
            self.tenant_log("fdecc", rec["client_id"], "User cancelled the device confirmation")

    def _scripted_user(self, rec, now):
        if rec["state"] != "pending":
            return
        age = now - rec["issued"]
        approve, deny = self.settings["approve_after"], self.settings["deny_after"]
        approve_due = approve is not None and age >= approve
        deny_due = deny is not None and age >= deny
        if approve_due and deny_due:
            self._decide(rec, approve <= deny)
        elif approve_due or deny_due:
            self._decide(rec, approve_due)

    # ---- token endpoint ---------------------------------------------------------------------

    def token(self, form):
        grant_type = form.get("grant_type")
        if not form.get("client_id"):
            return _err(400, "invalid_request", "Missing required parameter: client_id")
        with self.lock:
            if grant_type == DEVICE_GRANT:
                status, body = self._poll(form) if form["client_id"] == self.settings["client_id"] \
                    else _err(401, "invalid_client", "Unknown client.")
                if status == 200:
                    self.tenant_log("sede", form["client_id"], "Successful exchange of device code for tokens")
                elif body["error"] != "authorization_pending":  # Auth0 logs no event for a pending poll
                    self.tenant_log("fede", form["client_id"], body["error_description"])
                return status, body
            if form["client_id"] != self.settings["client_id"]:
                return _err(401, "invalid_client", "Unknown client.")
            if grant_type == "refresh_token":
                return self._refresh(form)
        if not grant_type:
            return _err(400, "invalid_request", "Missing required parameter: grant_type")
        return _err(400, "unsupported_grant_type", "Unsupported grant type.")

    def _poll(self, form):
        if not form.get("device_code"):
            return _err(400, "invalid_request", "Missing required parameter: device_code")
        rec = self.codes.get(form["device_code"])
        if rec is None or rec["client_id"] != form["client_id"] or rec["state"] == "consumed":
            return _err(403, "invalid_grant", "Invalid or expired device code.")
        now = time.monotonic()
        if now >= rec["expires_at"]:
            if rec["expired_told"]:
                return _err(403, "invalid_grant", "Invalid or expired device code.")
            rec["expired_told"] = True
            return _err(403, "expired_token", "Expired device code.")
        # The interval the code was issued with, or a larger one set since, plus 5 s for every
        # slow_down already sent (RFC 8628 3.5: the client adds 5 s for this and later polls).
        interval = max(rec["interval"], self.settings["interval"]) + 5 * rec["slow_downs"]
        last, rec["last_poll"] = rec["last_poll"], now
        if last is not None and now - last < interval * SLOW_DOWN_TOLERANCE:
            rec["slow_downs"] += 1
            status, body = _err(429, "slow_down", "You are polling faster than the specified "
                                                  "interval of %d seconds." % interval)
            body["_interval"] = interval + 5   # the new interval (GitHub mode says it)
            return status, body
        self._scripted_user(rec, now)
        if rec["state"] == "denied":
            return _err(403, "access_denied", "User cancelled the confirmation prompt or "
                                              "consent page; the code is no longer valid.")
        if rec["state"] != "approved":
            return _err(403, "authorization_pending", "User has yet to authorize device code.")
        rec["state"] = "consumed"
        gid = secrets.token_hex(8)
        self.grants[gid] = {"client_id": rec["client_id"], "scope": rec["scope"],
                            "audience": rec["audience"], "user": rec["user"], "revoked": False}
        return 200, self._tokens(gid, new_refresh=True)

    def _refresh(self, form):
        rt = self.refresh.get(form.get("refresh_token") or "")
        grant = self.grants.get(rt["grant"]) if rt else None
        if grant is None or grant["revoked"] or grant["client_id"] != form["client_id"]:
            return _err(403, "invalid_grant", "Unknown or invalid refresh token.")
        if rt["rotated"]:
            grant["revoked"] = True   # reuse detected: the whole family goes
            return _err(403, "invalid_grant", "Unknown or invalid refresh token.")
        rotate = bool(self.settings["rotation"])
        if rotate:
            rt["rotated"] = True
        return 200, self._tokens(rt["grant"], new_refresh=rotate)

    def _tokens(self, gid, new_refresh):
        g, s = self.grants[gid], self.settings
        scopes = g["scope"].split()
        t = time.time()
        now = int(t)
        user = g["user"]
        # exp rounded up, not down: the token lasts at least the expires_in it is announced
        # with. Truncated, it could end up to a second early, and a client that refreshes right
        # at expiry (tests/test_clock_e2e.py) would meet a 401 before it.
        access = {"iss": self.issuer, "sub": user["sub"], "aud": g["audience"], "iat": now,
                  "exp": math.ceil(t) + int(s["access_ttl"]), "scope": g["scope"], "azp": g["client_id"]}
        out = {"access_token": self.keys.sign(access), "token_type": "Bearer",
               "expires_in": int(s["access_ttl"]), "scope": g["scope"]}
        want_id, want_refresh = providers.issues(s, scopes)
        if want_id:
            out["id_token"] = self.keys.sign({
                "iss": self.issuer, "sub": user["sub"], "aud": g["client_id"], "iat": now,
                "exp": now + int(s["id_ttl"]), "name": user.get("name"),
                "email": user.get("email")})
        if new_refresh and want_refresh:
            token = secrets.token_urlsafe(36)
            self.refresh[token] = {"grant": gid, "rotated": False}
            out["refresh_token"] = token
        for kind in ("access_token", "refresh_token", "id_token"):
            if kind in out:
                self.issued.append((kind, out[kind]))
        return out

    def revoke(self, form):
        """RFC 7009: revoke the refresh token's whole grant; unknown tokens are fine too."""
        with self.lock:
            rt = self.refresh.get(form.get("token") or "")
            if rt and self.grants[rt["grant"]]["client_id"] == form.get("client_id"):
                self.grants[rt["grant"]]["revoked"] = True

    def revoke_all(self):
        """Revoke every grant (an admin ending all sessions); returns how many were live."""
        with self.lock:
            live = [g for g in self.grants.values() if not g["revoked"]]
            for g in live:
                g["revoked"] = True
            return len(live)

    def userinfo(self, sub):
        """The profile of the user who granted access as `sub` (as it was when they approved)."""
        with self.lock:
            for g in self.grants.values():
                if g["user"]["sub"] == sub:
                    return {"sub": sub, "name": g["user"].get("name"), "email": g["user"].get("email")}
        return {"sub": sub}

    def check_bearer(self, token, audience=None):
        """Claims of a valid access token (signature, exp, iss; aud when given); raise otherwise."""
        return self.keys.check(token, self.issuer, audience)
