"""End-to-end: every provider profile, the FIRMWARE (MicroPython Unix port, tests/device.py) against
the stub server switched into that provider's mode (tools/stub/providers.py), over verified HTTPS.

Each test is one quirk a user of that provider relies on being handled: status codes of pending
(Auth0 403, Google 428, GitHub 200, others 400), `verification_url` and no complete URI (QR of
the plain URI), Entra's `authorization_declined`, GitHub's errors in a 200, form-encoded replies,
slow_down carrying a new interval, no id_token, no refresh token (the device runs the flow again
when the access token expires), Google's client_secret only with the explicit opt-in, Google's
quota refusal, and the generic provider's missing interval (RFC 8628's 5 s).
Cost: about 60-80 s on one core (the stub interval is 1 s; the generic mode waits 5 s per poll).
"""
import time

import pytest

from device import Device, decode_qr, screen_frames
from stubctl import start_stub

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# the HTTP status each mode answers `authorization_pending` with
PENDING_STATUS = {"auth0": 403, "okta": 400, "entra": 400, "google": 428, "github": 200,
                  "keycloak": 400, "generic": 400}
NO_COMPLETE_URI = ("entra", "google", "github")
# profile -> the stub mode that speaks like it (ZITADEL answers as standard RFC 8628 servers do)
MODE_FOR_PROFILE = {"auth0": "auth0", "okta": "okta", "entra": "entra", "google": "google",
                    "github": "github", "keycloak": "keycloak", "zitadel": "okta",
                    "generic": "generic"}


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1, approve_after=2.5) as s:
        yield s


def provider_device(tmp_path, stub, profile, **overrides):
    """A Device configured as a user of `profile` would: fixed-endpoint providers (Google,
    GitHub) get the stub's URLs as endpoint overrides, the others discover them."""
    cfg = {"provider": profile}
    if profile == "google":
        cfg.update(device_authorization_endpoint=stub.url + "/oauth/device/code",
                   token_endpoint=stub.url + "/oauth/token",
                   jwks_uri=stub.url + "/.well-known/jwks.json",
                   userinfo_endpoint=stub.url + "/userinfo",
                   revocation_endpoint=stub.url + "/oauth/revoke")
    elif profile == "github":
        cfg.update(device_authorization_endpoint=stub.url + "/oauth/device/code",
                   token_endpoint=stub.url + "/oauth/token")
    cfg.update(overrides)
    return Device(tmp_path, stub, **cfg)


def events(dev):
    return [e["event"] for e in dev.events()]


def qr_texts(dev):
    return [t for f in screen_frames(dev.screen_text) for t in decode_qr(f)]


@pytest.mark.parametrize("profile", sorted(MODE_FOR_PROFILE))
def test_each_profile_signs_in_and_calls_the_api(stub, tmp_path, profile):
    mode = MODE_FOR_PROFILE[profile]
    stub.configure(provider=mode)
    dev = provider_device(tmp_path, stub, profile)
    assert dev.run("--once", timeout=60) == 0, dev.log_text()
    names = events(dev)
    for step in ("show_code", "approved", "tokens_stored", "api_ok"):
        assert step in names, dev.log_text()
    assert dev.wait_for("profile")["name"] == profile
    show = dev.wait_for("show_code")
    reqs = stub.requests()
    device_req = [r for r in reqs if r["path"] == "/oauth/device/code"]
    assert len(device_req) == 1 and "client_secret" not in device_req[0]["fields"]
    p = stub.token_posts(DEVICE_GRANT)
    assert p[-1]["status"] == 200 and p[-1]["error"] is None, p
    # pending, in this provider's status code, kept the device polling (never ended the flow)
    pending = [r for r in p if r["error"] == "authorization_pending"]
    if mode == "generic":
        # no interval in the device reply: the first poll waited RFC 8628's default 5 s
        assert p[0]["time"] - device_req[0]["time"] >= 4.9, (p, device_req)
    else:
        assert pending, p
        assert {r["status"] for r in pending} == {PENDING_STATUS[mode]}, pending
    # the code screen's QR: the complete URI where the provider sends one, else the plain URI
    if mode in NO_COMPLETE_URI:
        assert "verification_uri_complete" not in show, show
        assert show["verification_uri"] == stub.url + "/activate"
        assert show["verification_uri"] in qr_texts(dev)
    else:
        assert show["verification_uri_complete"] in qr_texts(dev)
    # id_token where the provider is OpenID; GitHub sends none and the device still works
    if profile == "github":
        assert "id_token_ok" not in names and "error" not in names, dev.log_text()
        assert dev.wait_for("tokens_stored")["refresh"] == "0"
    else:
        assert names.index("id_token_ok") < names.index("tokens_stored")
        assert dev.wait_for("tokens_stored")["refresh"] == "1"   # Google: without offline_access


def test_entra_authorization_declined_shows_denied(stub, tmp_path):
    stub.configure(provider="entra", approve_after=None, deny_after=1.5)
    dev = provider_device(tmp_path, stub, "entra")
    assert dev.run("--once", timeout=60) != 0
    declined = [r for r in stub.token_posts(DEVICE_GRANT) if r["error"] == "authorization_declined"]
    assert [r["status"] for r in declined] == [400], stub.token_posts(DEVICE_GRANT)
    dev.wait_for("error", reason="access_denied")
    dev.wait_for("screen", kind="denied")
    assert "tokens_stored" not in events(dev)
    assert len(stub.token_posts(DEVICE_GRANT)) == len([r for r in stub.token_posts(DEVICE_GRANT) if r["error"]]), "polled on after the denial"


def test_github_form_encoded_replies_are_understood(stub, tmp_path):
    stub.configure(provider="github", form_replies=True)
    # the stub in this mode answers form-encoded even to a client asking for JSON
    status, headers, _ = stub.request("POST", "/oauth/device/code", "client_id=" + stub.client_id,
                                      {"Content-Type": "application/x-www-form-urlencoded",
                                       "Accept": "application/json"})
    assert status == 200 and headers["content-type"].startswith("application/x-www-form-urlencoded")
    stub.reset()
    stub.configure(provider="github", form_replies=True)
    dev = provider_device(tmp_path, stub, "github")
    assert dev.run("--once", timeout=60) == 0, dev.log_text()
    p = stub.token_posts(DEVICE_GRANT)
    assert any(r["error"] == "authorization_pending" and r["status"] == 200 for r in p), p
    dev.wait_for("api_ok")


def test_github_slow_down_with_interval_waits_the_new_interval(stub, tmp_path):
    stub.configure(provider="github", approve_after=None)
    dev = provider_device(tmp_path, stub, "github").start()
    try:
        code = dev.wait_for("show_code")["user_code"]
        # The server now wants 2 s: the device's next poll (1 s) is too fast. GitHub answers
        # slow_down *with* the new interval, 2 + 5 = 7 s; RFC 8628 alone would make it 1 + 5.
        stub.configure(interval=2)
        stub.wait_for_error("slow_down")
        stub.approve(code)
        dev.wait_for("api_ok", timeout=30)
    finally:
        dev.quit()
    slow, gaps = stub.poll_gaps_after("slow_down")
    assert slow["status"] == 200, slow
    assert gaps and min(gaps) >= 6.9, gaps   # the server's 7 s, not the RFC's 6 s


def test_github_no_refresh_token_runs_the_device_flow_again(stub, tmp_path):
    stub.configure(provider="github", access_ttl=3)
    dev = provider_device(tmp_path, stub, "github", api_interval_s=1).start()
    try:
        deadline = time.time() + 40
        while len(dev.events("api_ok")) < 1 or len(dev.events("show_code")) < 2:
            assert time.time() < deadline, dev.log_text()
            time.sleep(0.1)
        n = len(dev.events("api_ok"))
        while len(dev.events("api_ok")) <= n:   # signed in again and calling the API
            assert time.time() < deadline, dev.log_text()
            time.sleep(0.1)
    finally:
        dev.quit()
    assert [e["refresh"] for e in dev.events("tokens_stored")][:2] == ["0", "0"]
    assert not stub.token_posts("refresh_token")
    assert not dev.events("error"), dev.log_text()
    assert len([r for r in stub.requests() if r["path"] == "/oauth/device/code"]) >= 2


GOOGLE_SECRET = "GOCSPX-not-really-secret"


def test_google_client_secret_only_with_the_opt_in(stub, tmp_path):
    stub.configure(provider="google", client_secret=GOOGLE_SECRET)
    dev = provider_device(tmp_path, stub, "google", client_secret=GOOGLE_SECRET,
                          send_client_secret=True, refresh_spread_s=0)
    assert dev.run("--demo", timeout=60) == 0, dev.log_text()   # sign in, API, refresh, API
    dev.wait_for("refreshed")
    reqs = stub.requests()
    dev_req = [r for r in reqs if r["path"] == "/oauth/device/code"]
    assert dev_req and all("client_secret" not in r["fields"] for r in dev_req)
    tok = stub.token_posts()
    assert {r["grant_type"] for r in tok} == {DEVICE_GRANT, "refresh_token"}
    assert all("client_secret" in r["fields"] for r in tok), tok
    assert GOOGLE_SECRET not in dev.log_text() and GOOGLE_SECRET not in dev.screen_text


def test_google_client_secret_without_the_opt_in_is_refused_at_boot(stub, tmp_path):
    # A Google client with a secret but no opt-in would only fail at the first poll, after the
    # user typed the code (Google answers 401 invalid_client). The config check stops it at boot,
    # naming the key to set, before any request: the secret is never sent.
    stub.configure(provider="google", client_secret=GOOGLE_SECRET)
    dev = provider_device(tmp_path, stub, "google", client_secret=GOOGLE_SECRET)
    assert dev.run("--once", timeout=60) == 2, dev.log_text()
    assert stub.requests() == []
    err = dev.wait_for("error", reason="config", key="send_client_secret")
    assert "send_client_secret" in err["detail"]
    assert dev.wait_for("screen", kind="config")["detail"] == err["detail"]  # on the screen too
    assert GOOGLE_SECRET not in dev.log_text() and GOOGLE_SECRET not in dev.screen_text


def test_google_quota_refusal_backs_off_and_retries(stub, tmp_path):
    # Google: a device request over quota is 403 {"error_code": "rate_limit_exceeded"}; its
    # guide says to back off and retry, so the device must not give up on it.
    stub.configure(provider="google", quota_exceeded=1)
    dev = provider_device(tmp_path, stub, "google")
    rc = dev.run("--once", timeout=60)
    reqs = [r for r in stub.requests() if r["path"] == "/oauth/device/code"]
    assert reqs[0]["status"] == 403, reqs
    assert rc == 0, dev.log_text()
    assert len(reqs) == 2
    dev.wait_for("api_ok")
