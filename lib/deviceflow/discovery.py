# OpenID Connect Discovery 1.0 and RFC 8414 (OAuth 2.0 Authorization Server Metadata): where the
# provider's endpoints are. Both documents carry the same keys and the same issuer rule.
#
# discovery_url(issuer)         the document's URL (Discovery §4.1: a terminating "/" of the
#                               issuer is removed before "/.well-known/openid-configuration")
# metadata_urls(issuer)         the OpenID URL, then RFC 8414's (§3.1), tried in that order
# parse_discovery(body, issuer) a small dict: 'issuer' plus the ENDPOINT_KEYS present
# merge_endpoints(found, cfg)   config keys named as in discovery win over the document
# needs_discovery(profile, cfg) False when the profile's fixed endpoints or the config cover all
# DiscoveryCache                the parsed document kept in flash across reboots, tagged and
#                               bound to the issuer and client_id it was fetched for
#
# Issuer check (Discovery §4.3): the document's `issuer` MUST be identical to the issuer used to
# build its URL, otherwise a document could claim to speak for another provider (mix-up). One
# difference is tolerated: a trailing "/" only (configured "https://t.auth0.com", Auth0 publishes
# "https://t.auth0.com/"). Both spellings fetch the very same document URL, so the tolerance lets
# no other server vouch for the issuer. The returned 'issuer' is the document's own spelling, and
# that exact string is what ID tokens' `iss` must equal (Core §3.1.3.7).
#
# Every endpoint must be https, or http to a loopback host (127.0.0.0/8, ::1, localhost) for
# tests; nothing else may redirect the device's tokens. No token ever passes through here.
import json

from deviceflow.boundcache import BoundCache
from deviceflow.errors import ConfigError, ReplyError, TransportError
from deviceflow.url import is_loopback, parse_url

ENDPOINT_KEYS = (
    "device_authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "revocation_endpoint",
)
REQUIRED_KEYS = ("device_authorization_endpoint", "token_endpoint")
WELL_KNOWN = "/.well-known/openid-configuration"
WELL_KNOWN_OAUTH = "/.well-known/oauth-authorization-server"


def url_allowed(url):
    """True for an https URL, or an http URL to a loopback host (the transport's own parser)."""
    try:
        scheme, host, _port, _target = parse_url(url)
    except TransportError:
        return False
    return scheme == "https" or is_loopback(host)


def _check_issuer(issuer):
    if not url_allowed(issuer) or "?" in issuer or "#" in issuer:
        raise ConfigError("issuer", "issuer must be an https URL without query or fragment")


def discovery_url(issuer):
    """The OpenID configuration URL for `issuer`, without doubling the slash."""
    _check_issuer(issuer)
    return issuer.rstrip("/") + WELL_KNOWN


def oauth_metadata_url(issuer):
    """RFC 8414 §3.1: "/.well-known/oauth-authorization-server" goes between the host and the
    issuer's path (a terminating "/" removed first), not after the path as OpenID's does."""
    _check_issuer(issuer)
    i = issuer.index("://") + 3
    j = issuer.find("/", i)
    host, path = (issuer, "") if j < 0 else (issuer[:j], issuer[j:])
    return host + WELL_KNOWN_OAUTH + path.rstrip("/")


def metadata_urls(issuer):
    """Where to look, in order: the OpenID document, then RFC 8414's (plain OAuth servers)."""
    return (discovery_url(issuer), oauth_metadata_url(issuer))


def _same_issuer(published, configured):
    return published == configured or published.rstrip("/") == configured.rstrip("/")


def _validated(doc, issuer):
    """The small endpoint dict of a decoded document, or raise ReplyError('bad_discovery')."""
    if not isinstance(doc, dict):
        raise ReplyError("bad_discovery", "not a JSON object")
    published = doc.get("issuer")
    if not isinstance(published, str) or not published:
        raise ReplyError("bad_discovery", "no issuer")
    if not _same_issuer(published, issuer):
        raise ReplyError("bad_discovery", "issuer mismatch: " + published[:80])
    if not url_allowed(published):
        raise ReplyError("bad_discovery", "issuer not https")
    out = {"issuer": published}
    for key in ENDPOINT_KEYS:
        url = doc.get(key)
        if url is None:
            continue
        if not url_allowed(url):
            raise ReplyError("bad_discovery", key + " must be https")
        out[key] = url
    if "token_endpoint" not in out:
        raise ReplyError("bad_discovery", "no token_endpoint")
    return out


def parse_discovery(body, issuer):
    """Validate a discovery document (bytes or str) fetched for the configured `issuer`.

    Returns {'issuer': <as published>, <endpoint key>: url, ...} with only ENDPOINT_KEYS kept
    (the rest of the document is dropped to spare the heap). Raises ReplyError('bad_discovery').
    """
    _check_issuer(issuer)
    try:
        if not isinstance(body, str):
            body = str(body, "utf-8")
        doc = json.loads(body)
    except Exception:  # UnicodeError / ValueError differ between runtimes
        raise ReplyError("bad_discovery", "not JSON")
    return _validated(doc, issuer)


def merge_endpoints(discovered, overrides):
    """Endpoints from discovery (a dict or None) with config keys of the same names on top.

    Every URL must pass url_allowed (ConfigError naming the key); the device authorization and
    token endpoints must be known afterwards (ConfigError naming the missing one).
    """
    out = dict(discovered or {})
    for key in ENDPOINT_KEYS:
        url = overrides.get(key) if overrides else None
        if url:
            if not url_allowed(url):
                raise ConfigError(key, "must be an https URL")
            out[key] = url
    for key in REQUIRED_KEYS:
        if not out.get(key):
            raise ConfigError(key, "not in the config and not discovered")
    return out


def needs_discovery(profile, overrides, scope=None):
    """False when the profile's fixed endpoints plus the config give every endpoint it needs
    for `scope` (the JWKS only when `openid` is asked for: no ID token, no key to check it)."""
    fixed = profile.endpoints()
    for key in profile.required_endpoints(scope):
        if not (overrides and overrides.get(key)) and not fixed.get(key):
            return True
    return False


class DiscoveryCache(BoundCache):
    """The validated endpoint dict, cached (see BoundCache) so a reboot needs no discovery."""

    def load(self, issuer=None):
        data = BoundCache.load(self)
        if data is None:
            return None
        try:
            return _validated(data, issuer if issuer is not None else data.get("issuer"))
        except Exception:
            self.why = "corrupt"
            return None

    def save(self, doc):
        keep = {"issuer": doc["issuer"]}
        for key in ENDPOINT_KEYS:
            if doc.get(key):
                keep[key] = doc[key]
        BoundCache.save(self, keep)
