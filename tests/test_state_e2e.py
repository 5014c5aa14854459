"""End-to-end: sound state over a device's life (issue 13). The firmware runs as a MicroPython
Unix-port process (tests/device.py) against the stub over verified HTTPS.

- a full flash after a refresh: the new tokens are used from RAM, only the write is retried;
- a device re-provisioned for another tenant (another issuer, client or audience, same state
  folder): the old sign-in and caches are discarded, never sent to the new provider;
- files at rest: private (0600) on a Unix host, and a planted signing key is refused;
- a provider without OpenID discovery: none is needed when the config gives the endpoints,
  and RFC 8414 metadata is used when only that is published.
"""
import errno
import os
import subprocess

import pytest

from device import Device
from stubctl import start_stub


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1, approve_after=1) as s:
        yield s


# ---- a full flash (item 3) -------------------------------------------------------------------

@pytest.fixture
def small_fs(tmp_path):
    """A 256 KiB tmpfs: a real file system that fills up (ENOSPC). Needs root (mount)."""
    path = str(tmp_path / "flash")
    os.makedirs(path)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", path],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.decode(errors="replace").strip())
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)


def _fill(path):
    """Fill the file system at `path` until it answers ENOSPC; returns the filler's path."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return filler


def test_full_flash_after_a_refresh_keeps_the_new_tokens_and_retries_the_write(stub, tmp_path, small_fs):
    # Before: the grant was marked done before the write, so the write's StoreError left the app
    # stuck (`bad_state` forever) and the rotated refresh token was lost while flash kept the
    # used one, which the provider's reuse detection then revokes.
    stub.configure(access_ttl=3, rotation=True)
    dev = Device(tmp_path, stub, state_dir=small_fs, api_interval_s=1, refresh_spread_s=0,
                 refresh_margin_s=0, refresh_window_s=0)
    dev.start()
    try:
        dev.wait_for("tokens_stored", timeout=20)
        filler = _fill(small_fs)
        dev.wait_for("error", timeout=20)  # the write failed: flash is full
        dev.wait_for("refreshed", timeout=5)
        # The refreshed access token is used while flash is full, and the next refresh uses
        # the rotated refresh token held in RAM.
        dev.wait_for_count("refreshed", 2, timeout=20)
        assert len(dev.events("error")) >= 2  # the write was retried, and failed again
        stored = len(dev.events("tokens_stored"))
        os.remove(filler)  # room again: the next retry writes the record
        dev.wait_for_count("tokens_stored", stored + 1, timeout=30)
    finally:
        rc = dev.quit()
    assert rc == 0, dev.log_text()
    errors = dev.events("error")
    assert {e["reason"] for e in errors} == {"store_write_failed"}, errors
    names = [e["event"] for e in dev.events()]
    first_fail = names.index("error")
    assert "api_ok" in names[first_fail:], names  # the API went on with the RAM tokens
    refreshes = stub.token_posts("refresh_token")
    assert refreshes and all(r["status"] == 200 for r in refreshes), refreshes
    # Flash holds the newest refresh token: a reboot refreshes with it (reuse would be refused).
    before = len(stub.requests())
    dev.config.update(api_interval_s=60)
    dev.write_config()
    assert dev.run("--once") == 0, dev.log_text()
    later = stub.token_posts("refresh_token")[len(refreshes):]
    assert [r["status"] for r in later] in ([], [200]), later
    assert stub.requests()[before:][-1]["path"] == "/api/hello"


# ---- state of the previous tenant (item 1) ---------------------------------------------------

def test_a_new_tenant_never_gets_the_old_tenants_state(tmp_path):
    # `make run CONFIG=a.json ONCE=1`, then CONFIG=b.json with the same state folder. Before,
    # the second run refreshed with A's refresh token at A's cached token endpoint (and against
    # a live B would send it to B), and never showed a code.
    with start_stub(str(tmp_path / "a"), tls=True, interval=1, approve_after=1) as a, \
            start_stub(str(tmp_path / "b"), tls=True, interval=1, approve_after=1) as b:
        dev = Device(tmp_path, a, refresh_spread_s=0)
        assert dev.run("--once") == 0, dev.log_text()
        assert set(os.listdir(dev.state)) >= {"tokens.json", "discovery.json", "jwks.json"}
        seen_by_a = len(a.requests())
        # Re-provisioned: tenant B's issuer, the same state folder. Expire A's access token too,
        # so that reusing the old record would mean a refresh.
        dev.config.update(issuer=b.issuer, api_url=b.url + "/api/hello", ca_file=b.ca_pem)
        dev.write_config()
        assert dev.run("--once", timeout=60) == 0, dev.log_text()
        assert len(a.requests()) == seen_by_a  # nothing more went to tenant A
        discarded = {e["what"]: e["reason"] for e in dev.events("state_discarded")}
        assert discarded == {"tokens": "issuer", "discovery": "issuer", "jwks": "issuer"}, discarded
        names = [e["event"] for e in dev.events()]
        assert "show_code" in names and "id_token_ok" in names and "api_ok" in names, names
        reqs = b.requests()
        assert not [r for r in reqs if r.get("grant_type") == "refresh_token"], reqs
        assert reqs[0]["path"] == "/.well-known/openid-configuration"
        apis = [r for r in reqs if r["path"] == "/api/hello"]
        assert apis and all(r["status"] == 200 for r in apis), apis  # A's access token never sent


@pytest.mark.parametrize("change", ["client_id", "audience"])
def test_another_client_or_audience_on_the_same_tenant_signs_in_again(stub, tmp_path, change):
    dev = Device(tmp_path, stub, refresh_spread_s=0)
    assert dev.run("--once") == 0, dev.log_text()
    before = len(stub.requests())
    if change == "client_id":
        stub.configure(client_id="kiosk-2")
        dev.config.update(client_id="kiosk-2")
    else:
        stub.configure(audience="https://other-api.example.com/")
        dev.config.update(audience="https://other-api.example.com/")
    dev.write_config()
    assert dev.run("--once") == 0, dev.log_text()
    discarded = {e["what"]: e["reason"] for e in dev.events("state_discarded")}
    assert discarded.get("tokens") == change, dev.log_text()
    later = stub.requests()[before:]
    assert not [r for r in later if r.get("grant_type") == "refresh_token"], later
    assert dev.events("show_code") and dev.events("api_ok")


# ---- files at rest (item 8) ------------------------------------------------------------------

def test_key_tokens_and_caches_are_private_files(stub, tmp_path):
    dev = Device(tmp_path, stub)
    assert dev.run("--once") == 0, dev.log_text()
    for name in ("device.key", "tokens.json", "discovery.json", "jwks.json"):
        mode = os.stat(os.path.join(dev.state, name)).st_mode & 0o777
        assert mode == 0o600, (name, oct(mode))


def _planted_jwks(stub):
    """The stub's key set with every modulus replaced by one of an attacker's own keys."""
    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric import rsa

    status, _, body = stub.request("GET", "/.well-known/jwks.json")
    doc = json.loads(body)
    n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
    fake = base64.urlsafe_b64encode(n.to_bytes(256, "big")).rstrip(b"=").decode()
    for jwk in doc["keys"]:
        jwk["n"] = fake
        jwk.pop("x5c", None)
    return doc


@pytest.mark.parametrize("form", ["plain", "tagged_elsewhere"])
def test_a_planted_signing_key_is_refused_and_the_real_one_fetched(stub, tmp_path, form):
    # Whoever can write the flash but not read device.key plants a JWKS cache holding their own
    # key under the provider's kid. Before, the untagged cache was trusted: the real id_token
    # failed its check ("Sign-in rejected"), and a token signed by the planted key would pass.
    import json

    dev = Device(tmp_path, stub)
    assert dev.run("--once") == 0, dev.log_text()
    os.remove(os.path.join(dev.state, "tokens.json"))  # sign in again, with the cache in place
    planted = _planted_jwks(stub)
    path = os.path.join(dev.state, "jwks.json")
    if form == "plain":
        with open(path, "w") as f:
            json.dump(planted, f)
    else:  # the cache's own format, tagged under another device's key
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
        from deviceflow.store import TokenStore
        TokenStore(path, b"z" * 32).save({"v": 2, "for": {"issuer": stub.issuer, "client_id": dev.config["client_id"]},
                                          "data": planted})
    assert dev.run("--once") == 0, dev.log_text()
    assert dev.events("state_discarded")[0]["what"] == "jwks", dev.log_text()
    assert dev.events("jwks_fetched") and dev.events("id_token_ok")


# ---- a provider without OpenID discovery (item 11) -------------------------------------------

@pytest.mark.parametrize("profile", ["generic", "entra"])
def test_explicit_endpoints_and_no_id_token_need_no_discovery(stub, tmp_path, profile):
    # Before: boot stopped at `reason=discovery_status` when the OpenID document answered 404,
    # though the config gave both endpoints and asked for no ID token.
    stub.configure(discovery="none", provider=profile)
    dev = Device(tmp_path, stub, provider=profile, scope="offline_access",
                 device_authorization_endpoint=stub.url + "/oauth/device/code",
                 token_endpoint=stub.url + "/oauth/token")
    assert dev.run("--once", timeout=60) == 0, dev.log_text()
    assert not [r for r in stub.requests() if r["path"].startswith("/.well-known/")]
    assert dev.events("tokens_stored") and dev.events("api_ok")


def test_a_plain_oauth_server_is_discovered_by_its_rfc8414_metadata(stub, tmp_path):
    stub.configure(discovery="oauth", provider="generic")
    dev = Device(tmp_path, stub, provider="generic")
    assert dev.run("--once", timeout=60) == 0, dev.log_text()
    wk = [(r["path"], r["status"]) for r in stub.requests() if r["path"].startswith("/.well-known/")]
    assert wk[:2] == [("/.well-known/openid-configuration", 404),
                      ("/.well-known/oauth-authorization-server", 200)], wk
    assert dev.events("id_token_ok") and dev.events("api_ok")
    # the document is cached: the next boot asks for no metadata at all
    before = len(stub.requests())
    assert dev.run("--once", timeout=60) == 0, dev.log_text()
    assert not [r for r in stub.requests()[before:] if r["path"].startswith("/.well-known/openid")]
    assert not [r for r in stub.requests()[before:] if r["path"].startswith("/.well-known/oauth")]


def test_a_cached_endpoint_that_fails_is_forgotten_and_discovered_again(stub, tmp_path):
    # The cached document names a token endpoint that no longer answers (connection refused).
    # Before, forget_discovery was never called: every boot trusted the stale cache again.
    import socket
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    from deviceflow.discovery import DiscoveryCache
    from deviceflow.store import TokenStore, load_or_create_key

    stub.configure(access_ttl=3600)
    dev = Device(tmp_path, stub, refresh_spread_s=0)
    assert dev.run("--once") == 0, dev.log_text()
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    key = load_or_create_key(os.path.join(dev.state, "device.key"))
    cache = DiscoveryCache(TokenStore(os.path.join(dev.state, "discovery.json"), key),
                           {"issuer": stub.issuer, "client_id": dev.config["client_id"]})
    doc = cache.load(stub.issuer)
    cache.save(dict(doc, token_endpoint="https://localhost:%d/oauth/token" % dead))
    # ... and the endpoints worked out from it are those of the stale document (firmware keeps
    # them in endpoints.json; with it gone, the next boot works them out from discovery.json)
    os.remove(os.path.join(dev.state, "endpoints.json"))
    store = TokenStore(os.path.join(dev.state, "tokens.json"), key)
    rec = store.load()
    rec["expires_at"] = rec["obtained_at"]  # expired: the boot refreshes at the cached endpoint
    store.save(rec)
    dev.start()
    try:
        dev.wait_for("discovery_forgotten", timeout=20)
    finally:
        dev.quit()
    assert not os.path.exists(os.path.join(dev.state, "endpoints.json"))  # forgotten with the document
    assert dev.run("--once") == 0, dev.log_text()
    assert dev.wait_for("discovery", source="network") and dev.events("refreshed")
