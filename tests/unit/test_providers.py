# Provider profiles and auto-detection from the issuer.
from check import raises
from deviceflow.errors import ConfigError
from deviceflow.providers import PROFILE_NAMES, detect, profile_for


def test_every_documented_profile_exists_and_generic_is_the_default():
    for name in ("auth0", "okta", "entra", "google", "github", "keycloak", "zitadel", "generic"):
        assert profile_for(name).name == name
    assert profile_for(None).name == "generic"
    assert profile_for("").name == "generic"
    assert len(PROFILE_NAMES) == 8


def test_unknown_provider_name_is_a_config_error():
    e = raises(ConfigError, profile_for, "auth-zero")
    assert e.reason == "provider" and "auth0" in e.detail


def test_auto_detection_by_issuer_host():
    cases = (
        ("https://tenant.us.auth0.com/", "auth0"),
        ("https://TENANT.auth0.com", "auth0"),
        ("https://login.example.com/", "generic"),  # Auth0 custom domain: nothing to go on
        ("https://dev-123.okta.com/oauth2/default", "okta"),
        ("https://dev-123.oktapreview.com/oauth2/default", "okta"),
        ("https://login.microsoftonline.com/0b7e-tenant/v2.0", "entra"),
        ("https://accounts.google.com", "google"),
        ("https://github.com", "github"),
        ("https://sso.example.org/realms/home", "keycloak"),
        ("https://sso.example.org:8443/realms/home", "keycloak"),
        ("https://acme-x1.zitadel.cloud", "zitadel"),
        ("http://127.0.0.1:4000", "generic"),
    )
    for issuer, name in cases:
        assert detect(issuer) == name, issuer
        assert profile_for("auto", issuer).name == name


def test_auto_detection_is_not_fooled_by_look_alike_hosts():
    assert detect("https://evilauth0.com/") == "generic"
    assert detect("https://auth0.com.evil.example/") == "generic"
    assert detect("https://github.com.evil.example/") == "generic"
    assert detect("https://accounts.google.com@evil.example/") == "generic"
    assert detect("https://notokta.com/") == "generic"
    assert detect(None) == "generic"
    assert detect("not a url") == "generic"


def test_explicit_name_wins_over_the_issuer():
    assert profile_for("generic", "https://t.auth0.com/").name == "generic"


def test_github_has_fixed_endpoints_no_id_token_no_refresh_no_scope():
    p = profile_for("github")
    assert p.endpoints()["device_authorization_endpoint"] == "https://github.com/login/device/code"
    assert p.endpoints()["token_endpoint"] == "https://github.com/login/oauth/access_token"
    assert not p.discovery and not p.id_token and not p.refresh
    assert p.scope({}) == ""
    assert "jwks_uri" not in p.required_endpoints()


def test_google_fixed_endpoints_scope_and_issuer():
    p = profile_for("google")
    assert p.endpoints()["device_authorization_endpoint"] == "https://oauth2.googleapis.com/device/code"
    assert p.endpoints()["token_endpoint"] == "https://oauth2.googleapis.com/token"
    assert p.endpoints()["jwks_uri"].startswith("https://")
    assert p.discovery and p.issuer == "https://accounts.google.com"
    assert "offline_access" not in p.scope({})  # not a Google scope
    assert "openid" in p.scope({})


def test_oidc_profiles_ask_for_offline_access_by_default():
    for name in ("auth0", "okta", "entra", "keycloak", "zitadel", "generic"):
        p = profile_for(name)
        assert p.scope({}) == "openid profile offline_access", name
        assert p.discovery and p.id_token and p.refresh and not p.endpoints()


def test_configured_scope_wins_even_when_empty():
    p = profile_for("auth0")
    assert p.scope({"scope": "openid"}) == "openid"
    assert p.scope({"scope": ""}) == ""


def test_auth0_sends_audience_generic_sends_resource():
    cfg = {"audience": "https://api.example", "resource": "https://rs.example"}
    assert profile_for("auth0").device_params(cfg) == {"audience": "https://api.example"}
    assert profile_for("generic").device_params(cfg) == {"resource": "https://rs.example",
                                                         "audience": "https://api.example"}
    assert profile_for("github").device_params(cfg) == {}
    assert profile_for("auth0").device_params({}) == {}
    assert raises(ConfigError, profile_for("auth0").device_params, {"audience": 5}).reason == "audience"


def test_client_secret_only_for_google_and_only_on_explicit_opt_in():
    google = profile_for("google")
    assert google.poll_client_secret({"client_secret": "s3"}) is None  # not opted in
    assert google.poll_client_secret({"client_secret": "s3", "send_client_secret": "yes"}) is None
    assert google.poll_client_secret({"client_secret": "s3", "send_client_secret": True}) == "s3"
    assert google.poll_params({"client_secret": "s3", "send_client_secret": True}) == {"client_secret": "s3"}
    assert google.poll_params({"client_secret": "s3"}) == {}
    e = raises(ConfigError, google.poll_client_secret, {"send_client_secret": True})
    assert e.reason == "client_secret" and "s3" not in e.detail
    for name in ("auth0", "github", "generic"):
        cfg = {"client_secret": "s3", "send_client_secret": True}
        e = raises(ConfigError, profile_for(name).poll_client_secret, cfg)
        assert e.reason == "send_client_secret" and "s3" not in str(e)
        assert profile_for(name).poll_client_secret({"client_secret": "s3"}) is None
        assert profile_for(name).poll_params({}) == {}


def test_fixed_endpoints_are_a_copy_the_caller_may_change():
    p = profile_for("github")
    e = p.endpoints("https://github.com")
    e["token_endpoint"] = "https://evil.example/t"
    assert p.endpoints()["token_endpoint"] == "https://github.com/login/oauth/access_token"


def test_generic_profile_sends_resource_and_a_configured_audience():
    # An Auth0 custom domain is detected as generic: its audience must still reach the server.
    p = profile_for("auto", "https://login.example.com/")
    assert p.device_params({"audience": "https://api.example.com/"}) == {"audience": "https://api.example.com/"}
    assert p.device_params({"resource": "https://r.example/"}) == {"resource": "https://r.example/"}
    assert p.device_params({}) == {}
