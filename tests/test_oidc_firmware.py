"""Conformance of the FIRMWARE (firmware/main.py on the MicroPython Unix port, tests/device.py)
against a real, independent provider: node oidc-provider (tools/oidc_provider/server.js).

The config is what a user of such a provider writes: its issuer (http on loopback is allowed),
the client id, `provider: auto` (which picks the generic profile), and the provider's userinfo
endpoint as the API. The person is tools/oidc_user.py on the provider's own pages. The provider's
side of every exchange is read from its request log (server.js prints one `REQ` line per request,
with status and error code, never a token). If the provider cannot start, the tests fail.

Cost: about 40 s (oidc-provider sends no interval, so every poll waits 5 s).
"""
import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlencode, urlsplit

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

import oidc_user  # noqa: E402
from device import Device  # noqa: E402
from oidcctl import start_provider  # noqa: E402

ACCESS_TTL = 8  # access token lifetime on the provider, so the device refreshes within the test
SHORT_TTL = 7  # device code lifetime of the short client
REPLY_DELAY_MS = 4000  # the short client's device reply arrives this late (slow network)


@pytest.fixture(scope="module")
def op():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCESS_TOKEN_TTL", str(ACCESS_TTL))
        mp.setenv("SHORT_CLIENT_REPLY_DELAY_MS", str(REPLY_DELAY_MS))
        with start_provider(short_ttl=SHORT_TTL) as provider:
            yield provider


def requests_seen(op):
    """The provider's REQ lines as dicts: t (ms), method, path, status, error, grant, ..."""
    out = []
    for line in op.log().splitlines():
        if not line.startswith("REQ "):
            continue
        parts = line.split()
        rec = {"method": parts[2], "path": parts[3]}
        for p in parts[1:2] + parts[4:]:
            k, _, v = p.partition("=")
            rec[k] = v
        rec["t"] = int(rec["t"]) / 1000.0
        out.append(rec)
    return out


def polls(reqs):
    return [r for r in reqs if r["path"] == "/token" and r.get("grant") == "device_code"]


def wait_until(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def discovered(op):
    u = urlsplit(op.issuer)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("GET", "/.well-known/openid-configuration")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def token_request(op, fields):
    u = urlsplit(op.issuer)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("POST", "/token", urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def stored_record(dev):
    """The device's token record as it lies in flash (the store tags it, it does not hide it)."""
    with open(os.path.join(dev.state, "tokens.json"), "rb") as f:
        data = f.read()
    start = data.index(b"\n") + 1
    length = int(data[len(b"DFTS1 "):start - 1])
    return json.loads(data[start:start + length])


def op_device(tmp_path, op, client_id, **extra):
    doc = discovered(op)
    return Device(tmp_path, None, issuer=op.issuer, client_id=client_id, provider="auto",
                  api_url=doc["userinfo_endpoint"], **extra)


def test_firmware_signs_in_refreshes_and_signs_out_against_oidc_provider(op, tmp_path):
    dev = op_device(tmp_path, op, op.client_id, api_interval_s=2, refresh_margin_s=2,
                    refresh_window_s=0, refresh_spread_s=0)
    before = len(requests_seen(op))
    dev.start()
    try:
        show = dev.wait_for("show_code", timeout=20)
        assert show["verification_uri"] == op.issuer + "/device"
        # the person is slow: the device's first poll meets authorization_pending
        wait_until(lambda: polls(requests_seen(op)[before:]), 15, "the first poll")
        user = threading.Thread(target=oidc_user.approve, args=(show["verification_uri"], show["user_code"]))
        user.start()
        user.join(30)
        dev.wait_for("api_ok", timeout=30)
        dev.wait_for("refreshed", timeout=30)
        n = len(dev.events("api_ok"))
        wait_until(lambda: len(dev.events("api_ok")) > n, 15, "an API call with the refreshed token")
        rt = stored_record(dev)["refresh_token"]   # the rotated one, as it lies in flash
        dev.press("sign_out")
        dev.wait_for("signed_out", timeout=20)
    finally:
        dev.quit()
    log = dev.log_text()
    assert dev.wait_for("profile")["name"] == "generic"
    assert dev.wait_for("discovery")["source"] == "network"
    assert dev.wait_for("id_token_ok")["sub"] == "alice"
    assert dev.wait_for("tokens_stored")["refresh"] == "1"
    # the id_token names nobody: the app asked userinfo once, checked its sub, and shows the name
    assert dev.events("userinfo") == [{"event": "userinfo", "status": "200", "sub_match": "1", "name": "1"}]
    dev.wait_for("screen", kind="success", detail="Alice Example")
    assert all(e["status"] == "200" for e in dev.events("api_ok"))   # userinfo as the API
    assert dev.wait_for("refreshed")["rotated"] == "1"
    dev.wait_for("revoked", status="200")
    assert "error" not in [e["event"] for e in dev.events()], log

    reqs = requests_seen(op)[before:]
    device = [r for r in reqs if r["path"] == "/device/auth"]
    assert len(device) == 1 and device[0]["status"] == "200" and device[0]["interval"] == "absent"
    p = polls(reqs)
    assert [(r["status"], r["error"]) for r in p[:-1]] == [("400", "authorization_pending")] * (len(p) - 1)
    assert len(p) >= 2 and (p[-1]["status"], p[-1]["error"]) == ("200", "none"), p
    # no interval sent: RFC 8628's 5 s before the first poll and between polls
    times = [device[0]["t"]] + [r["t"] for r in p]
    assert min(b - a for a, b in zip(times, times[1:])) >= 4.9, times
    refreshes = [r for r in reqs if r["path"] == "/token" and r.get("grant") == "refresh_token"]
    assert refreshes and all(r["status"] == "200" for r in refreshes), refreshes
    assert [r["status"] for r in reqs if r["path"] == "/token/revocation"] == ["200"]
    # the revoked (rotated, current) refresh token is dead at the provider
    status, body = token_request(op, {"grant_type": "refresh_token", "refresh_token": rt,
                                      "client_id": op.client_id})
    assert (status, body.get("error")) == (400, "invalid_grant")
    assert not os.path.exists(os.path.join(dev.state, "tokens.json"))
    assert rt not in log and rt not in dev.screen_text


def test_firmware_shows_denied_when_the_user_aborts(op, tmp_path):
    dev = op_device(tmp_path, op, op.client_id)
    before = len(requests_seen(op))
    dev.start("--once")
    try:
        show = dev.wait_for("show_code", timeout=20)
        oidc_user.deny(show["verification_uri"], show["user_code"])
        assert dev.wait(30) == 3
    finally:
        dev.stop()
    dev.wait_for("error", reason="access_denied")
    dev.wait_for("screen", kind="denied")
    assert not dev.events("tokens_stored")
    p = polls(requests_seen(op)[before:])
    assert (p[-1]["status"], p[-1]["error"]) == ("400", "access_denied"), p


def test_firmware_reports_a_code_the_provider_expired(op, tmp_path):
    # The device reply reaches the device REPLY_DELAY_MS after the provider issued the code, so
    # the provider's SHORT_TTL runs out before the device's own copy of expires_in: its first
    # poll (5 s after the reply) meets the provider's expired_token, which ends the flow.
    dev = op_device(tmp_path, op, op.short_client_id)
    before = len(requests_seen(op))
    assert dev.run("--once", timeout=40) == 3, dev.log_text()
    assert dev.wait_for("show_code")["expires_in"] == str(SHORT_TTL)
    p = polls(requests_seen(op)[before:])
    assert [(r["status"], r["error"]) for r in p] == [("400", "expired_token")], p
    dev.wait_for("error", reason="expired_token")
    dev.wait_for("screen", kind="expired")
    assert len(dev.events("show_code")) == 1   # no new code without the user asking
