# OIDC discovery: document URL, validation, config overrides, and the flash cache.
import json
import os

from check import raises, tmpdir
from deviceflow import discovery
from deviceflow.discovery import (
    ENDPOINT_KEYS,
    DiscoveryCache,
    discovery_url,
    merge_endpoints,
    needs_discovery,
    parse_discovery,
)
from deviceflow.errors import ConfigError, ReplyError
from deviceflow.providers import profile_for
from deviceflow.store import TokenStore

AUTH0 = "https://tenant.eu.auth0.com/"


def auth0_doc(**changes):
    d = {
        "issuer": AUTH0,
        "authorization_endpoint": AUTH0 + "authorize",
        "device_authorization_endpoint": AUTH0 + "oauth/device/code",
        "token_endpoint": AUTH0 + "oauth/token",
        "userinfo_endpoint": AUTH0 + "userinfo",
        "jwks_uri": AUTH0 + ".well-known/jwks.json",
        "revocation_endpoint": AUTH0 + "oauth/revoke",
        "scopes_supported": ["openid", "profile", "offline_access"],
        "response_types_supported": ["code"],
    }
    for k in changes:
        if changes[k] is None:
            d.pop(k, None)
        else:
            d[k] = changes[k]
    return json.dumps(d).encode()


def test_discovery_url_never_doubles_the_slash():
    assert discovery_url("https://t.auth0.com/") == "https://t.auth0.com/.well-known/openid-configuration"
    assert discovery_url("https://t.auth0.com") == "https://t.auth0.com/.well-known/openid-configuration"
    assert (
        discovery_url("https://kc.example/realms/home")
        == "https://kc.example/realms/home/.well-known/openid-configuration"
    )


def test_discovery_url_refuses_plain_http_to_a_remote_host():
    assert raises(ConfigError, discovery_url, "http://t.auth0.com/").reason == "issuer"
    assert raises(ConfigError, discovery_url, "t.auth0.com").reason == "issuer"
    assert discovery_url("http://127.0.0.1:8080").startswith("http://127.0.0.1:8080/.well-known")


def test_parse_keeps_only_the_endpoints_and_the_published_issuer():
    d = parse_discovery(auth0_doc(), AUTH0)
    assert d["issuer"] == AUTH0
    assert d["token_endpoint"] == AUTH0 + "oauth/token"
    assert d["device_authorization_endpoint"] == AUTH0 + "oauth/device/code"
    assert sorted(d) == sorted(("issuer",) + ENDPOINT_KEYS)
    assert "scopes_supported" not in d


def test_parse_accepts_str_and_bytearray_bodies():
    body = auth0_doc()
    assert parse_discovery(body.decode(), AUTH0)["jwks_uri"].endswith("jwks.json")
    assert parse_discovery(bytearray(body), AUTH0)["jwks_uri"].endswith("jwks.json")


def test_trailing_slash_difference_is_tolerated_and_the_published_spelling_kept():
    # configured without the slash Auth0 publishes: same document URL, so accepted; the id_token
    # iss check must use the document's value, which is what is returned
    d = parse_discovery(auth0_doc(), "https://tenant.eu.auth0.com")
    assert d["issuer"] == AUTH0


def test_issuer_mismatch_is_rejected():
    e = raises(ReplyError, parse_discovery, auth0_doc(issuer="https://evil.example/"), AUTH0)
    assert e.reason == "bad_discovery" and "issuer" in e.detail
    # a different path is a different issuer (Core §16.15 mix-up), even on the same host
    other = auth0_doc(issuer="https://tenant.eu.auth0.com/other")
    assert raises(ReplyError, parse_discovery, other, AUTH0).reason == "bad_discovery"


def test_missing_issuer_or_token_endpoint_is_rejected():
    assert raises(ReplyError, parse_discovery, auth0_doc(issuer=None), AUTH0).reason == "bad_discovery"
    assert raises(ReplyError, parse_discovery, auth0_doc(token_endpoint=None), AUTH0).reason == "bad_discovery"


def test_non_https_endpoints_are_rejected():
    bad = auth0_doc(token_endpoint="http://tenant.eu.auth0.com/oauth/token")
    e = raises(ReplyError, parse_discovery, bad, AUTH0)
    assert "token_endpoint" in e.detail
    bad = auth0_doc(jwks_uri="ftp://tenant.eu.auth0.com/jwks")
    assert raises(ReplyError, parse_discovery, bad, AUTH0).reason == "bad_discovery"
    bad = auth0_doc(device_authorization_endpoint="https://user@evil.example/x")
    assert raises(ReplyError, parse_discovery, bad, AUTH0).reason == "bad_discovery"
    bad = auth0_doc(userinfo_endpoint=17)
    assert raises(ReplyError, parse_discovery, bad, AUTH0).reason == "bad_discovery"


def test_loopback_http_is_allowed_for_local_providers_only():
    iss = "http://127.0.0.1:4000"
    doc = json.dumps({"issuer": iss, "token_endpoint": iss + "/token", "jwks_uri": iss + "/jwks"})
    assert parse_discovery(doc, iss)["token_endpoint"] == iss + "/token"
    assert discovery.url_allowed("http://[::1]:80/x")
    assert discovery.url_allowed("http://localhost/x")
    assert not discovery.url_allowed("http://127.0.0.1.evil.example/x")
    assert not discovery.url_allowed("http://10.0.0.1/x")


def test_garbage_bodies_raise_reply_error_not_anything_else():
    for body in (b"", b"not json", b"[1, 2]", b'"str"', b"\xff\xfe{", b"{"):
        assert raises(ReplyError, parse_discovery, body, AUTH0).reason == "bad_discovery"


def test_config_overrides_win_and_required_endpoints_are_enforced():
    d = parse_discovery(auth0_doc(), AUTH0)
    m = merge_endpoints(d, {"token_endpoint": "https://proxy.example/token", "client_id": "x"})
    assert m["token_endpoint"] == "https://proxy.example/token"
    assert m["jwks_uri"] == d["jwks_uri"]
    assert d["token_endpoint"] == AUTH0 + "oauth/token"  # the input is not modified
    only_cfg = merge_endpoints(
        None,
        {"device_authorization_endpoint": "https://a.example/d", "token_endpoint": "https://a.example/t"},
    )
    assert only_cfg["device_authorization_endpoint"] == "https://a.example/d"
    e = raises(ConfigError, merge_endpoints, {"issuer": AUTH0, "token_endpoint": AUTH0 + "t"}, {})
    assert e.reason == "device_authorization_endpoint"
    e = raises(ConfigError, merge_endpoints, d, {"token_endpoint": "http://proxy.example/token"})
    assert e.reason == "token_endpoint"


def test_needs_discovery_depends_on_profile_and_config():
    assert not needs_discovery(profile_for("github"), {})
    assert not needs_discovery(profile_for("google"), {})
    assert needs_discovery(profile_for("auth0"), {})
    two = {"device_authorization_endpoint": "https://a.example/d", "token_endpoint": "https://a.example/t"}
    # OIDC providers also need the JWKS to check the id_token
    assert needs_discovery(profile_for("generic"), two)
    two["jwks_uri"] = "https://a.example/jwks"
    assert not needs_discovery(profile_for("generic"), two)


KEY = b"d" * 32
BOUND = {"issuer": AUTH0, "client_id": "kiosk-1"}


def cache_at(path, binding=None, key=KEY):
    return DiscoveryCache(TokenStore(path, key), binding or BOUND)


def test_cache_round_trip_and_atomic_file():
    d = tmpdir()
    path = d + "/discovery.json"
    doc = parse_discovery(auth0_doc(), AUTH0)
    cache = cache_at(path)
    assert cache.load() is None and cache.why is None  # nothing cached yet
    cache.save(doc)
    assert os.listdir(d) == ["discovery.json"]  # no temporary file left behind
    assert cache_at(path).load() == doc
    assert cache_at(path).load(AUTH0) == doc
    cache.save(dict(doc, token_endpoint=AUTH0 + "v2/token"))
    assert cache_at(path).load()["token_endpoint"] == AUTH0 + "v2/token"


def test_cache_for_another_issuer_or_client_is_not_used_and_says_why():
    path = tmpdir() + "/discovery.json"
    cache_at(path).save(parse_discovery(auth0_doc(), AUTH0))
    for changed, why in (({"issuer": "https://other.auth0.com/", "client_id": "kiosk-1"}, "issuer"),
                         ({"issuer": AUTH0, "client_id": "kiosk-2"}, "client_id")):
        other = cache_at(path, changed)
        assert other.load() is None and other.why == why, other.why
    # the document itself must name the issuer it is used for
    assert cache_at(path).load("https://other.auth0.com/") is None


def test_corrupt_or_tampered_cache_loads_as_none():
    d = tmpdir()
    path = d + "/discovery.json"
    for content in ("", "{", "[]", '{"v": 1}', '{"v": 99, "doc": {}}', "\x00\x01garbage"):
        with open(path, "w") as f:
            f.write(content)
        cache = cache_at(path)
        assert cache.load() is None and cache.why in ("truncated", "corrupt"), (content, cache.why)
    # a well-formed cache planted by whoever does not hold the device key: refused by its tag
    planted = {"v": 2, "for": BOUND, "data": {"issuer": AUTH0, "token_endpoint": AUTH0 + "evil"}}
    TokenStore(path, b"x" * 32).save(planted)
    cache = cache_at(path)
    assert cache.load() is None and cache.why == "tampered"
    # a tagged one with a URL the device must not use is refused too
    TokenStore(path, KEY).save(dict(planted, data={"issuer": AUTH0, "token_endpoint": "http://evil.example/t"}))
    cache = cache_at(path)
    assert cache.load() is None and cache.why == "corrupt"


def test_invalidate_removes_the_cache_and_tolerates_absence():
    d = tmpdir()
    path = d + "/discovery.json"
    cache = cache_at(path)
    cache.save(parse_discovery(auth0_doc(), AUTH0))
    cache.invalidate()
    assert cache.load() is None
    assert os.listdir(d) == []
    cache.invalidate()  # twice: no error


def test_rfc8414_metadata_url_puts_the_well_known_part_before_the_issuer_path():
    from deviceflow.discovery import metadata_urls, oauth_metadata_url

    assert oauth_metadata_url("https://as.example.com") == "https://as.example.com/.well-known/oauth-authorization-server"
    assert oauth_metadata_url("https://as.example.com/") == "https://as.example.com/.well-known/oauth-authorization-server"
    assert (oauth_metadata_url("https://as.example.com/tenant1/") ==
            "https://as.example.com/.well-known/oauth-authorization-server/tenant1")
    assert metadata_urls("https://as.example.com/t/") == (
        "https://as.example.com/t/.well-known/openid-configuration",
        "https://as.example.com/.well-known/oauth-authorization-server/t")
    raises(ConfigError, oauth_metadata_url, "http://evil.example/")


def test_no_discovery_for_what_the_config_gives_and_jwks_only_for_openid():
    two = {"device_authorization_endpoint": "https://a.example/d", "token_endpoint": "https://a.example/t"}
    for name in ("generic", "entra", "okta", "keycloak", "auth0"):
        p = profile_for(name)
        assert not needs_discovery(p, two, "offline_access"), name  # no ID token asked for
        assert not needs_discovery(p, two, ""), name
        assert needs_discovery(p, two, "openid offline_access"), name  # its keys are needed
        assert needs_discovery(p, {}, "offline_access"), name
