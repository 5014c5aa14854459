"""End-to-end: the firmware as a MicroPython Unix-port process against the stub
server over verified HTTPS. Each test is one thing a user relies on."""
import json
import os
import time

import pytest

from device import Device, decode_qr, screen_frames
from stubctl import start_stub

FAST = {"interval": 1, "approve_after": 1}


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, **FAST) as s:
        yield s


def test_approve_stores_tokens_and_calls_the_api(stub, tmp_path):
    dev = Device(tmp_path, stub)
    assert dev.run("--once") == 0, dev.log_text()
    show = dev.wait_for("show_code")
    assert show["user_code"] and "user_code=" in show["verification_uri_complete"]
    names = [e["event"] for e in dev.events()]
    for step in ("show_code", "approved", "id_token_ok", "tokens_stored", "api_ok"):
        assert step in names, dev.log_text()
    assert names.index("tokens_stored") < names.index("api_ok")
    assert os.path.exists(os.path.join(dev.state, "tokens.json"))
    # The code screen in the terminal carries a QR a phone can scan: it decodes to the URI.
    decoded = [decode_qr(f) for f in screen_frames(dev.screen_text)]
    assert [show["verification_uri_complete"]] in decoded


def test_deny_shows_denied_and_stops_polling(stub, tmp_path):
    stub.configure(approve_after=None, deny_after=1)
    dev = Device(tmp_path, stub)
    assert dev.run("--once") != 0
    dev.wait_for("error", reason="access_denied")
    dev.wait_for("screen", kind="denied")
    assert not dev.events("tokens_stored")


def test_expiry_then_a_new_code_by_button(stub, tmp_path):
    stub.configure(approve_after=None, expires_in=3)
    dev = Device(tmp_path, stub).start()
    try:
        dev.wait_for("error", reason="expired_token", timeout=20)
        dev.wait_for("screen", kind="expired")
        first = dev.events("show_code")[0]["user_code"]
        stub.configure(expires_in=900, approve_after=1)
        dev.press("new_code")
        second = dev.wait_for_count("show_code", 2, timeout=20)[1]["user_code"]
        assert second != first
        dev.wait_for("api_ok", timeout=20)
    finally:
        dev.quit()


def test_slow_down_adds_five_seconds(stub, tmp_path):
    stub.configure(approve_after=None)
    dev = Device(tmp_path, stub).start()
    try:
        code = dev.wait_for("show_code")["user_code"]
        # The server answers the next poll with slow_down (429, Auth0's status for it).
        stub.configure(force={"status": 429, "body": '{"error":"slow_down"}', "count": 1,
                              "content_type": "application/json", "paths": ["/oauth/token"]})
        stub.wait_for_error("slow_down")
        stub.approve(code)
        dev.wait_for("api_ok", timeout=30)
    finally:
        dev.quit()
    _, gaps = stub.poll_gaps_after("slow_down")  # one slow_down, none after it
    assert gaps and min(gaps) >= 5.9, gaps  # 1 s + 5 s for this and every later poll


def test_reboot_with_stored_tokens_needs_no_new_sign_in(stub, tmp_path):
    dev = Device(tmp_path, stub)
    assert dev.run("--once") == 0
    before = len(stub.requests())
    assert dev.run("--once") == 0, dev.log_text()
    assert not dev.events("show_code")
    dev.wait_for("tokens_loaded")
    later = stub.requests()[before:]
    assert [r["path"] for r in later] == ["/api/hello"], later  # no token request at boot


def test_expired_access_token_is_refreshed_and_rotation_is_stored(stub, tmp_path):
    stub.configure(access_ttl=2, rotation=True)
    dev = Device(tmp_path, stub, refresh_margin_s=0, refresh_window_s=0, refresh_spread_s=0)
    assert dev.run("--once") == 0
    for _ in range(2):  # twice: the second refresh only works if the rotated token reached flash
        time.sleep(2.5)
        assert dev.run("--once") == 0, dev.log_text()
        assert not dev.events("show_code")
        assert dev.wait_for("refreshed")["rotated"] == "1"
        dev.wait_for("api_ok")
    assert not any(r.get("error") == "invalid_grant" for r in stub.requests())


def test_invalid_grant_on_refresh_leads_to_a_new_device_flow(stub, tmp_path):
    stub.configure(access_ttl=2)
    dev = Device(tmp_path, stub, refresh_margin_s=0, refresh_window_s=0, refresh_spread_s=0)
    assert dev.run("--once") == 0
    stub.reset_grants()
    time.sleep(2.5)
    assert dev.run("--once") == 0, dev.log_text()
    dev.wait_for("error", reason="invalid_grant")
    dev.wait_for("show_code")
    dev.wait_for("api_ok")


def test_api_401_refreshes_once_and_retries(stub, tmp_path):
    dev = Device(tmp_path, stub)
    assert dev.run("--once") == 0
    stub.configure(force={"status": 401, "paths": ["/api/hello"], "count": 1,
                          "body": '{"error":"invalid_token"}', "content_type": "application/json"})
    assert dev.run("--once") == 0, dev.log_text()
    names = [e["event"] for e in dev.events()]
    assert names.index("refreshed") < names.index("api_ok")
    assert not dev.events("show_code")


def test_sign_out_revokes_and_wipes(stub, tmp_path):
    dev = Device(tmp_path, stub).start()
    try:
        dev.wait_for("api_ok", timeout=30)
        dev.press("sign_out")
        dev.wait_for("signed_out", timeout=20)
        dev.wait_for("revoked", status="200")
    finally:
        dev.quit()
    assert any(r["path"] == "/oauth/revoke" for r in stub.requests())
    assert not os.path.exists(os.path.join(dev.state, "tokens.json"))


def test_corrupt_token_file_is_reported_and_signs_in_again(stub, tmp_path):
    dev = Device(tmp_path, stub)
    assert dev.run("--once") == 0
    path = os.path.join(dev.state, "tokens.json")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0x20
    with open(path, "wb") as f:
        f.write(bytes(data))
    assert dev.run("--once") == 0, dev.log_text()
    err = [e for e in dev.events("error") if e["reason"].startswith("store_")]
    assert err, dev.log_text()
    dev.wait_for("show_code")
    dev.wait_for("api_ok")


def test_bad_config_names_the_key(tmp_path):
    dev = Device(tmp_path, None, issuer="https://tenant.auth0.com/", api_url="https://api.example.com/")
    cfg = dict(dev.config)
    cfg.pop("client_id", None)
    dev.write_config(json.dumps(cfg))
    assert dev.run("--once") == 2
    err = dev.wait_for("error", reason="config")
    assert err["key"] == "client_id"
    assert "client_id" in dev.screen_text or "client_id" in err["detail"]


def test_config_that_is_not_json(tmp_path):
    dev = Device(tmp_path, None)
    dev.write_config("{oops")
    assert dev.run("--once") == 2
    dev.wait_for("error", reason="config")
