from check import raises
from deviceflow.errors import ConfigError
import config

GOOD = {"issuer": "https://tenant.auth0.com/", "client_id": "abc", "api_url": "https://api.example.com/x"}


def good(**changes):
    d = dict(GOOD)
    d.update(changes)
    return d


def test_defaults_fill_optional_keys():
    cfg = config.validate(good())
    assert cfg["provider"] == "auto"
    assert cfg["scope"] is None  # the provider profile's default scope applies
    assert cfg["allow_insecure_http"] is False


def test_missing_required_key_is_named():
    for key in ("issuer", "client_id", "api_url"):
        d = good()
        del d[key]
        e = raises(ConfigError, config.validate, d)
        assert e.reason == key and key in e.detail


def test_wrong_type_is_named():
    e = raises(ConfigError, config.validate, good(api_interval_s="60"))
    assert e.reason == "api_interval_s"
    e = raises(ConfigError, config.validate, good(allow_insecure_http="yes"))
    assert e.reason == "allow_insecure_http"


def test_plain_http_only_for_loopback_or_explicit_flag():
    e = raises(ConfigError, config.validate, good(issuer="http://tenant.example.com/"))
    assert e.reason == "issuer"
    assert config.validate(good(issuer="http://127.0.0.1:3000/"))["issuer"].startswith("http://")
    assert config.validate(good(api_url="http://localhost:8080/api"))
    assert config.validate(good(issuer="http://lan-host/", allow_insecure_http=True))


def test_wifi_needs_ssid_and_password_but_never_shows_them():
    e = raises(ConfigError, config.validate, good(wifi={"ssid": "home"}))
    assert e.reason == "wifi.password"
    cfg = config.validate(good(wifi={"ssid": "home", "password": "hunter22"}))
    assert "hunter22" not in repr(config.describe(cfg))


def test_client_secret_opt_in_needs_the_secret():
    e = raises(ConfigError, config.validate, good(send_client_secret=True))
    assert e.reason == "client_secret"


def test_not_an_object():
    assert raises(ConfigError, config.validate, [1, 2]).reason == "config"


def test_load_reports_bad_json_and_missing_file():
    from check import tmpdir

    d = tmpdir()
    with open(d + "/c.json", "w") as f:
        f.write("{not json")
    assert raises(ConfigError, config.load, d + "/c.json").reason == "config"
    assert raises(ConfigError, config.load, d + "/missing.json").reason == "config"


def test_google_secret_without_opt_in_is_refused_at_boot_naming_the_key():
    # Google's token endpoint needs the secret on every poll; without the opt-in the device
    # would only fail at the first poll, after the user typed the code.
    for raw in (good(provider="google", client_secret="s3cr3t-value"),
                good(issuer="https://accounts.google.com", client_secret="s3cr3t-value")):
        e = raises(ConfigError, config.validate, raw)
        assert e.reason == "send_client_secret", e.reason
        assert "send_client_secret" in e.detail and "s3cr3t" not in e.detail
    ok = config.validate(good(provider="google", client_secret="s3cr3t-value", send_client_secret=True))
    assert ok["send_client_secret"] is True
    assert config.validate(good(provider="google"))["client_secret"] is None  # no secret at all: fine
