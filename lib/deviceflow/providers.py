# Provider profiles: what differs between providers *before* a reply is parsed.
#
# Reply quirks (pending with any HTTP status, errors in a 200, form-encoded bodies,
# verification_url, message, slow_down with interval, authorization_declined,
# bad_verification_code) are handled generically by the flow engine (flow.py), so a profile only
# says: fixed endpoints, whether discovery exists, whether an id_token / refresh token is
# expected, which config keys go on the device request, the default scope, and whether the
# client secret may be sent on polls (Google only, explicit opt-in).
#
# profile_for(name, issuer): name is one of PROFILE_NAMES, 'auto' (pick by the issuer's host),
# or None/'' for 'generic'. Unknown names raise ConfigError('provider').
from deviceflow.errors import ConfigError

OIDC_SCOPE = "openid profile offline_access"


class Profile:
    """One provider's facts. Plain attributes, no behaviour beyond reading the config."""

    def __init__(
        self,
        name,
        endpoints=None,
        issuer=None,
        discovery=True,
        id_token=True,
        refresh=True,
        device_param_keys=(),
        client_secret_on_poll=False,
        default_scope=OIDC_SCOPE,
        doc="",
    ):
        self.name = name
        self.fixed = endpoints or {}  # fixed endpoint URLs, keyed as in discovery
        self.issuer = issuer  # fixed issuer (iss of its id_tokens), or None
        self.discovery = discovery  # has /.well-known/openid-configuration
        self.id_token = id_token  # an id_token comes back when `openid` is asked for
        self.refresh = refresh  # refresh tokens can be expected
        self.device_param_keys = device_param_keys  # config keys sent on the device request
        self.client_secret_on_poll = client_secret_on_poll
        self.default_scope = default_scope
        self.doc = doc

    def __repr__(self):
        return "<Profile %s>" % self.name

    def endpoints(self, issuer=None):
        """A new dict of the profile's fixed endpoint URLs (empty for discovery-only providers)."""
        return dict(self.fixed)

    def required_endpoints(self, scope=None):
        """Endpoint keys this profile cannot work without: jwks_uri only when id_tokens come,
        which needs `openid` in the scope (None: the profile's default scope)."""
        if scope is None:
            scope = self.default_scope
        if self.id_token and "openid" in scope.split():
            return ("device_authorization_endpoint", "token_endpoint", "jwks_uri")
        return ("device_authorization_endpoint", "token_endpoint")

    def scope(self, config):
        """The configured scope (an explicit empty string is respected), else the default."""
        s = config.get("scope") if config else None
        return self.default_scope if s is None else s

    def device_params(self, config):
        """{key: value} extra form fields for the device authorization request (DeviceFlow's
        extra_params): the profile's device_param_keys that the config sets."""
        out = {}
        for key in self.device_param_keys:
            v = config.get(key) if config else None
            if v:
                if not isinstance(v, str):
                    raise ConfigError(key, "must be a string")
                out[key] = v
        return out

    def poll_client_secret(self, config):
        """The client secret to send on token polls, or None (the normal, public-client case).

        Only a profile that needs one (Google's "TVs and Limited Input devices" clients) may send
        it, and only when the config sets both `client_secret` and `send_client_secret: true`.
        """
        if not config or config.get("send_client_secret") is not True:
            return None
        if not self.client_secret_on_poll:
            raise ConfigError("send_client_secret", "not allowed for provider " + self.name)
        secret = config.get("client_secret")
        if not secret or not isinstance(secret, str):
            raise ConfigError("client_secret", "required when send_client_secret is true")
        return secret

    def poll_params(self, config):
        """{key: value} extra form fields for token polls and refreshes (DeviceFlow's
        poll_params, RefreshGrant's extra_params): {} unless the client secret is opted in."""
        secret = self.poll_client_secret(config)
        return {"client_secret": secret} if secret else {}


# Auth0: https://auth0.com/docs/get-started/authentication-and-authorization-flow/device-authorization-flow
# /oauth/device/code and /oauth/token, discoverable at https://{domain}/.well-known/openid-configuration
# (issuer has the trailing slash). `audience` selects the API for the access token. Refresh
# tokens need offline_access plus "Allow Offline Access" on the API; rotation is optional.
AUTH0 = Profile("auth0", device_param_keys=("audience",), doc="auth0.com/docs device-authorization-flow")

# Okta: https://developer.okta.com/docs/guides/device-authorization-grant/main/
# {issuer}/v1/device/authorize on a custom authorization server (issuer .../oauth2/default),
# native app with the Device Authorization grant; refresh with offline_access.
OKTA = Profile("okta", doc="developer.okta.com device-authorization-grant")

# Microsoft Entra ID v2: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
# /{tenant}/oauth2/v2.0/devicecode, discovery at https://login.microsoftonline.com/{tenant}/v2.0.
# Configure the tenant ID (GUID) in the issuer: for "common"/"organizations" or a domain name the
# published issuer is a template or the GUID, which fails the Discovery §4.3 issuer check.
ENTRA = Profile("entra", doc="learn.microsoft.com v2-oauth2-device-code")

# Google: https://developers.google.com/identity/protocols/oauth2/limited-input-device
# Fixed endpoints (also listed in https://accounts.google.com/.well-known/openid-configuration),
# so no discovery round-trip is needed. Only a limited scope set is allowed (openid, email,
# profile, a few APIs); offline_access is not a Google scope and refresh tokens come anyway.
# The token poll requires client_secret for this client type: explicit opt-in only.
GOOGLE = Profile(
    "google",
    endpoints={
        "device_authorization_endpoint": "https://oauth2.googleapis.com/device/code",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
        "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
        "revocation_endpoint": "https://oauth2.googleapis.com/revoke",
    },
    issuer="https://accounts.google.com",
    client_secret_on_poll=True,
    default_scope="openid email profile",
    doc="developers.google.com oauth2/limited-input-device",
)

# GitHub: https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow
# No discovery, no id_token (not OpenID), no refresh token for OAuth apps (GitHub Apps with
# expiring user tokens do return one). Scopes are GitHub's own; empty = public read-only.
GITHUB = Profile(
    "github",
    endpoints={
        "device_authorization_endpoint": "https://github.com/login/device/code",
        "token_endpoint": "https://github.com/login/oauth/access_token",
    },
    issuer=None,
    discovery=False,
    id_token=False,
    refresh=False,
    default_scope="",
    doc="docs.github.com authorizing-oauth-apps#device-flow",
)

# Keycloak: https://www.keycloak.org/docs/latest/server_admin/#device-authorization-grant
# /realms/{realm}/protocol/openid-connect/auth/device, discovery under the realm issuer;
# offline_access gives an offline refresh token.
KEYCLOAK = Profile("keycloak", doc="keycloak.org server_admin device-authorization-grant")

# ZITADEL: https://zitadel.com/docs/guides/solution-scenarios/device-authorization
# {issuer}/oauth/v2/device_authorization, discoverable; offline_access for refresh tokens.
ZITADEL = Profile("zitadel", doc="zitadel.com docs device-authorization")

# Any other OpenID provider (and Auth0 custom domains): discovery, RFC 8707 `resource` if set,
# and `audience` when the config sets it (an Auth0 custom domain needs it; others ignore it).
GENERIC = Profile("generic", device_param_keys=("resource", "audience"), doc="RFC 8628, OpenID Discovery 1.0")

PROFILES = {}
for _p in (AUTH0, OKTA, ENTRA, GOOGLE, GITHUB, KEYCLOAK, ZITADEL, GENERIC):
    PROFILES[_p.name] = _p
PROFILE_NAMES = tuple(sorted(PROFILES))


def _split(issuer):
    """(host, path) of an issuer URL, lower-cased host, '' when it is not a URL."""
    if not isinstance(issuer, str):
        return "", ""
    i = issuer.find("://")
    rest = issuer[i + 3 :] if i > 0 else ""
    j = rest.find("/")
    authority, path = (rest, "") if j < 0 else (rest[:j], rest[j:])
    if "@" in authority:
        return "", ""
    k = authority.rfind(":")
    if k >= 0 and "]" not in authority[k:]:
        authority = authority[:k]
    return authority.lower(), path


def _under(host, domain):
    return host.endswith("." + domain)


def detect(issuer):
    """The profile name for an issuer URL, by its host (and Keycloak's /realms/ path)."""
    host, path = _split(issuer)
    if not host:
        return "generic"
    if _under(host, "auth0.com"):
        return "auth0"
    if _under(host, "okta.com") or _under(host, "oktapreview.com"):
        return "okta"
    if host == "login.microsoftonline.com":
        return "entra"
    if host == "accounts.google.com":
        return "google"
    if host == "github.com":
        return "github"
    if _under(host, "zitadel.cloud"):
        return "zitadel"
    if "/realms/" in path:
        return "keycloak"
    return "generic"


def profile_for(name, issuer=None):
    """The Profile for a config's `provider` (a name, 'auto', or None for generic)."""
    if not name:
        name = "generic"
    if name == "auto":
        name = detect(issuer)
    p = PROFILES.get(name)
    if p is None:
        raise ConfigError("provider", "unknown provider; one of auto, " + ", ".join(PROFILE_NAMES))
    return p
