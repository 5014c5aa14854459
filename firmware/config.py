# The device's one JSON config file, validated at boot. A missing or bad key
# raises ConfigError whose reason is the key's name, so the screen and the log
# can say exactly what to fix. Secrets (wifi password, client_secret) are
# never echoed: `describe()` masks them.
import json

from deviceflow.errors import ConfigError, TransportError
from deviceflow.url import is_loopback, parse_url

# key: (type, default or REQUIRED)
REQUIRED = object()
SCHEMA = {
    "issuer": (str, REQUIRED),
    "client_id": (str, REQUIRED),
    "provider": (str, "auto"),
    "scope": (str, None),  # None: the provider profile's default
    "audience": (str, None),
    "resource": (str, None),  # RFC 8707 resource indicator, sent by the generic profile
    "api_url": (str, REQUIRED),
    "ca_file": (str, None),
    "wifi": (dict, None),
    "board": (str, "unix"),
    "allow_insecure_http": (bool, False),
    "client_secret": (str, None),
    "send_client_secret": (bool, False),
    "mode": (str, "kiosk"),  # kiosk: stay signed in and call the API; sensor: wake, post, sleep
    "api_interval_s": (int, 60),
    "api_spread_s": (int, 10),  # first API call after boot lands at a random point in this window
    "refresh_margin_s": (int, 60),  # refresh at least this long before expiry...
    "refresh_window_s": (int, 600),  # ...at a random point in a window this wide before that
    "refresh_spread_s": (int, 300),  # a refresh already due at boot lands at a random point in this window
    "sleep_s": (int, 300),  # sensor mode: deep sleep between wakes
    "state_dir": (str, "."),  # where tokens, keys and caches live in flash
    "seed": (int, None),  # fixed randomness for tests; None: from the hardware RNG
    "http_timeout_s": (int, 10),  # one connect/read may wait this long before it counts as failed
    "device_authorization_endpoint": (str, None),
    "token_endpoint": (str, None),
    "userinfo_endpoint": (str, None),
    "jwks_uri": (str, None),
    "revocation_endpoint": (str, None),
}
SECRET_KEYS = ("client_secret",)
_URL_KEYS = ("issuer", "api_url", "device_authorization_endpoint", "token_endpoint",
             "userinfo_endpoint", "jwks_uri", "revocation_endpoint")


def _is_loopback_url(url):
    # The transport's own parser and rule, so a name like 127.0.0.1.example.com (which DNS
    # sends anywhere) is not taken for this machine.
    try:
        return is_loopback(parse_url(url)[1])
    except TransportError:
        return False


def _check_secret_opt_in(cfg):
    # A Google device client must send its secret on every poll; without the opt-in it would
    # fail only at the first poll, after the user already typed the code.
    from deviceflow.providers import profile_for

    profile = profile_for(cfg["provider"], cfg["issuer"])
    if profile.client_secret_on_poll and cfg["client_secret"] and not cfg["send_client_secret"]:
        raise ConfigError("send_client_secret", "provider %s needs the client secret on every poll: "
                          "set \"send_client_secret\": true next to 'client_secret'" % profile.name)


def validate(raw):
    """Return a complete config dict from the parsed JSON, or raise ConfigError(key)."""
    if not isinstance(raw, dict):
        raise ConfigError("config", "the config file must hold a JSON object")
    cfg = {}
    for key in SCHEMA:
        kind, default = SCHEMA[key]
        if key not in raw or raw[key] is None:
            if default is REQUIRED:
                raise ConfigError(key, "missing required key '%s'" % key)
            cfg[key] = default
            continue
        value = raw[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigError(key, "'%s' must be a %s" % (key, kind.__name__))
        if kind is str and not value and key not in ("scope", "audience"):
            raise ConfigError(key, "'%s' must not be empty" % key)
        cfg[key] = value
    for key in _URL_KEYS:
        url = cfg[key]
        if url is None:
            continue
        if url.startswith("https://"):
            continue
        if url.startswith("http://") and (cfg["allow_insecure_http"] or _is_loopback_url(url)):
            continue
        if url.startswith("http://"):
            raise ConfigError(key, "'%s' uses plain http:// to a non-loopback host; set allow_insecure_http only for testing" % key)
        raise ConfigError(key, "'%s' must be an https:// URL" % key)
    if cfg["mode"] not in ("kiosk", "sensor"):
        raise ConfigError("mode", "'mode' must be 'kiosk' or 'sensor'")
    if cfg["wifi"] is not None:
        for k in ("ssid", "password"):
            if not isinstance(cfg["wifi"].get(k), str):
                raise ConfigError("wifi." + k, "'wifi' needs a string '%s'" % k)
    if cfg["send_client_secret"] and not cfg["client_secret"]:
        raise ConfigError("client_secret", "send_client_secret is on but 'client_secret' is missing")
    _check_secret_opt_in(cfg)
    for key in ("api_interval_s", "sleep_s", "http_timeout_s"):
        if cfg[key] < 1:
            raise ConfigError(key, "'%s' must be at least 1" % key)
    return cfg


def load(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("config", "cannot read config file " + path)
    try:
        raw = json.loads(text)
    except ValueError:
        raise ConfigError("config", "config file %s is not valid JSON" % path)
    return validate(raw)


def describe(cfg):
    """The config as log fields, with secrets masked."""
    out = {}
    for key in ("issuer", "provider", "client_id", "api_url", "board", "mode"):
        out[key] = cfg[key]
    return out
