"""Provider modes: the stub answers in the documented shape of another provider.

The stub's setting `provider` picks the mode (default `auth0`, the stub's own behaviour). The
authority in state.py decides *what* happens (pending, slow_down, denied, expired, tokens); this
module only changes *how* it is said, as each provider documents it:

    auth0     403 pending/denied/expired, 429 slow_down (unchanged)
    okta      every error 400, invalid_client 401
    entra     every error 400; pending carries AADSTS70016 text; a denial is
              `authorization_declined`; an unknown device code is `bad_verification_code`;
              the device reply has `message` and no `verification_uri_complete`
    google    `verification_url` (not `_uri`), no `_complete`; pending 428, slow_down 403,
              denied 403, expired 400; refresh tokens without `offline_access`; with the
              `client_secret` setting, polls and refreshes without it are `invalid_client` 401;
              a quota refusal of the device request is 403 {"error_code": "rate_limit_exceeded"}
    github    errors with HTTP 200; form-encoded replies unless the request sends
              `Accept: application/json` (or always, with the setting `form_replies`);
              slow_down carries the new `interval`; no id_token, no refresh token; no
              `_complete`; an unknown device code is `incorrect_device_code`
    keycloak  every error 400
    generic   node oidc-provider's shape: no `interval` in the device reply (clients use 5 s),
              every error 400, invalid_client 401

Hooks: check_settings() (state.configure), issues() (which tokens a grant gets), refuse()
(before the authority sees a request), reply() (the HTTP reply of an OAuth endpoint).
"""
import json
from urllib.parse import urlencode

MODES = ("auth0", "okta", "entra", "google", "github", "keycloak", "generic")

# error -> HTTP status, per mode (anything not listed keeps the authority's status)
_ALL_400 = {"authorization_pending": 400, "slow_down": 400, "access_denied": 400,
            "expired_token": 400, "invalid_grant": 400, "invalid_request": 400,
            "unsupported_grant_type": 400, "invalid_client": 401}
_STATUS = {
    "auth0": {},
    "okta": _ALL_400,
    "entra": _ALL_400,
    "keycloak": dict(_ALL_400, invalid_client=400),
    "generic": _ALL_400,
    "google": {"authorization_pending": 428, "slow_down": 403, "access_denied": 403,
               "expired_token": 400, "invalid_grant": 400, "invalid_client": 401},
}

# error renames, per mode and exchange kind ("device", "poll", "refresh")
_RENAME = {
    "entra": {("poll", "access_denied"): "authorization_declined",
              ("poll", "invalid_grant"): "bad_verification_code"},
    "github": {("poll", "invalid_grant"): "incorrect_device_code"},
}

_ENTRA_PENDING = ("AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. "
                  "Continue polling.")
_ENTRA_MESSAGE = ("To sign in, use a web browser to open the page %s and enter the code %s "
                  "to authenticate.")


def check_settings(changes):
    """Raise ValueError for a `provider` value that is not a mode."""
    mode = changes.get("provider", "auth0")
    if mode not in MODES:
        raise ValueError("provider must be one of " + ", ".join(MODES))


def mode_of(settings):
    return settings.get("provider") or "auth0"


def issues(settings, scopes):
    """(id_token, refresh_token): which tokens a grant with these scopes receives."""
    mode = mode_of(settings)
    if mode == "github":
        return False, False   # OAuth apps: not OpenID, no refresh tokens
    if mode == "google":
        return "openid" in scopes, True   # Google has no offline_access scope
    return "openid" in scopes, "offline_access" in scopes


def kind_of(path, form):
    if path.endswith("/device/code"):
        return "device"
    return "refresh" if form.get("grant_type") == "refresh_token" else "poll"


def refuse(settings, kind, form):
    """(status, body) the provider answers before the authority looks at it, or None.

    Google: the device request may be refused for quota (`quota_exceeded` setting counts them
    down, the caller decrements it); with a `client_secret` setting, token requests must carry it.
    """
    mode = mode_of(settings)
    if kind == "device" and settings.get("quota_exceeded"):
        if mode == "google":
            return 403, {"error_code": "rate_limit_exceeded"}
        return 429, {"error": "too_many_requests", "error_description": "Too many requests."}
    secret = settings.get("client_secret")
    if mode == "google" and secret and kind != "device" and form.get("client_secret") != secret:
        return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
    return None


def _device_reply(mode, body):
    body = dict(body)
    if mode in ("entra", "google", "github"):
        body.pop("verification_uri_complete", None)
    if mode == "entra":
        body["message"] = _ENTRA_MESSAGE % (body["verification_uri"], body["user_code"])
    if mode == "google":
        body["verification_url"] = body.pop("verification_uri")
    if mode == "generic":
        body.pop("interval", None)
    return body


def reply(settings, kind, status, body, request_headers, extra_headers=None):
    """(status, headers, bytes) of an OAuth endpoint's reply in the mode's shape."""
    mode = mode_of(settings)
    body = dict(body)
    new_interval = body.pop("_interval", None)   # the authority's hint on slow_down
    error = body.get("error")
    if error:
        status = _STATUS.get(mode, {}).get(error, status)
        renamed = _RENAME.get(mode, {}).get((kind, error))
        if renamed:
            body["error"] = error = renamed
        if mode == "entra" and error == "authorization_pending":
            body["error_description"] = _ENTRA_PENDING
        if mode == "github":
            status = 200   # GitHub: every error of the token endpoint is a 200
            if error == "slow_down" and new_interval:
                body["interval"] = new_interval
    elif status == 200 and kind == "device":
        body = _device_reply(mode, body)
    elif status == 200 and mode == "github":
        body["token_type"] = "bearer"
    headers = dict(extra_headers or {})
    accept = (request_headers.get("Accept") or "") if request_headers else ""
    if mode == "github" and (settings.get("form_replies") or "application/json" not in accept):
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        data = urlencode([(k, v) for k, v in body.items() if v is not None]).encode("utf-8")
    else:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode("utf-8")
    return status, headers, data
