"""End-to-end: the firmware's timing survives an ESP32 tick wrap (2^30 ms) and a wall clock that
was never set. The firmware runs as a MicroPython Unix-port process against the stub over
verified HTTPS; `--ticks-start` starts its tick counter just before the wrap (the Unix port's
own counter wraps at 2^62, so a wrap bug would never show otherwise), `--no-wall-clock` makes
it boot as if NTP never answered. Cost: about 25 s of wall time, mostly real poll intervals."""
import os
import time

import pytest

from device import Device
from stubctl import start_stub

PERIOD = 1 << 30


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1, approve_after=3) as s:
        yield s


def test_polls_and_token_expiry_stay_right_across_the_tick_wrap(stub, tmp_path):
    # Ticks start 2.5 s before the wrap: the polls (1 s apart, approval after 3 s) straddle it,
    # and the 4 s access token is received, expires and is refreshed on the far side of it.
    stub.configure(access_ttl=4, rotation=True)
    dev = Device(tmp_path, stub, refresh_margin_s=0, refresh_window_s=0, api_interval_s=1)
    dev.start("--ticks-start", str(PERIOD - 2500))
    try:
        dev.wait_for("tokens_stored", timeout=20)
        dev.wait_for("refreshed", timeout=20)
        dev.wait_for("api_ok", timeout=10)
        time.sleep(1.5)  # one more API call on the refreshed token
    finally:
        dev.quit()
    reqs = stub.requests()
    polls = stub.token_posts("device_code")
    assert len(polls) >= 3, polls
    gaps = [b["time"] - a["time"] for a, b in zip(polls, polls[1:])]
    assert min(gaps) >= 0.95, gaps  # never sooner than the interval, before or after the wrap
    assert max(gaps) < 3, gaps  # and the wrap did not stall polling either
    assert not any(r.get("error") == "slow_down" for r in polls)
    assert polls[-1]["status"] == 200
    refreshes = stub.token_posts("refresh_token")
    assert len(refreshes) == 1, refreshes  # exactly one refresh: no storm, no skip
    issued = polls[-1]["time"]
    # The access token lasts 4 s from issue; refresh_margin 0 means "at expiry", never before.
    waited = refreshes[0]["time"] - issued
    assert 3.9 <= waited <= 7, waited
    apis = [r for r in reqs if r["path"] == "/api/hello"]
    assert apis and all(r["status"] == 200 for r in apis), apis  # never used an expired token
    assert any(r["time"] > refreshes[0]["time"] for r in apis)


def test_first_sign_in_without_a_wall_clock_stores_nothing_unvalidated(stub, tmp_path):
    stub.configure(approve_after=1)
    dev = Device(tmp_path, stub)
    dev.start("--no-wall-clock")
    try:
        dev.wait_for("approved", timeout=20)
        err = dev.wait_for("error", reason="clock_unset", timeout=10,
                           detail="cannot check the sign-in's expiry without the time")
        assert err
        time.sleep(0.5)
        assert any("Clock not set" in (e.get("detail") or "") for e in dev.events("screen"))
    finally:
        dev.quit()
    assert not dev.events("tokens_stored")
    assert not dev.events("id_token_ok")
    assert not dev.events("api_ok")
    assert not os.path.exists(os.path.join(dev.state, "tokens.json"))


def test_stored_tokens_without_a_wall_clock_are_refreshed_not_trusted(stub, tmp_path):
    stub.configure(approve_after=1, rotation=True)
    dev = Device(tmp_path, stub, refresh_spread_s=0)  # no boot spread: refresh as soon as due
    assert dev.run("--once") == 0, dev.log_text()  # signed in with the clock set
    before = len(stub.requests())
    # Reboot with no wall clock: the stored access token's expiry cannot be known.
    assert dev.run("--once", "--no-wall-clock") == 0, dev.log_text()
    names = [e["event"] for e in dev.events()]
    assert "tokens_loaded" in names and "show_code" not in names
    assert names.index("refreshed") < names.index("api_ok"), names
    later = [r["path"] for r in stub.requests()[before:]]
    assert later[0].endswith("/oauth/token") and later[-1] == "/api/hello", later


# ---- spans beyond 2^29 ms (issue 13 item 2) ------------------------------------------------
# MicroPython's ticks_add raises OverflowError for a span of 2^29 ms (6.2 days) or more on the
# 2^30 counter of an ESP32, and the --ticks-start clock does the same.
DAY = 86400


def _shift_stored_record(dev, seconds):
    """Move the stored sign-in `seconds` into the past, as if the device had been unplugged that
    long (its expiry is judged by the wall clock at boot). Re-tagged with the device's key."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    from deviceflow.store import TokenStore, load_or_create_key

    store = TokenStore(os.path.join(dev.state, "tokens.json"),
                       load_or_create_key(os.path.join(dev.state, "device.key")))
    rec = store.load()
    assert rec and rec.get("refresh_token"), store.last_error
    rec["obtained_at"] -= seconds
    rec["expires_at"] -= seconds
    store.save(rec)


@pytest.mark.parametrize("days", [1, 7, 30])
def test_long_lived_access_token_is_used_not_refreshed_across_the_wrap(stub, tmp_path, days):
    # Auth0 allows access tokens of up to 30 days. Before, 7 and 30 days overflowed the tick sum
    # (a crash; on a clock that wraps silently, a deadline in the "past": a refresh storm).
    stub.configure(access_ttl=days * DAY, approve_after=1)
    dev = Device(tmp_path, stub, api_interval_s=1)
    dev.start("--ticks-start", str(PERIOD - 2500))
    try:
        dev.wait_for("tokens_stored", timeout=20)
        deadline = time.time() + 15
        while len(dev.events("api_ok")) < 3 and time.time() < deadline and dev.proc.poll() is None:
            time.sleep(0.2)
    finally:
        rc = dev.quit()
    assert rc == 0, dev.log_text()
    assert len(dev.events("api_ok")) >= 3, dev.log_text()
    assert not stub.token_posts("refresh_token")
    assert not dev.events("error"), dev.log_text()


@pytest.mark.parametrize("days_off", [7, 30, 400])
def test_device_unplugged_for_days_boots_refreshes_and_calls_the_api(stub, tmp_path, days_off):
    # Before: the stored expiry lay more than 2^29 ms in the past, ticks_add raised
    # OverflowError at boot, every boot: a crash loop.
    stub.configure(approve_after=1, access_ttl=3600)
    dev = Device(tmp_path, stub, refresh_spread_s=0)
    assert dev.run("--once") == 0, dev.log_text()
    _shift_stored_record(dev, days_off * DAY)
    before = len(stub.requests())
    assert dev.run("--once", "--ticks-start", str(PERIOD - 2500)) == 0, dev.log_text()
    names = [e["event"] for e in dev.events()]
    assert "tokens_loaded" in names and "show_code" not in names, names
    assert names.index("refreshed") < names.index("api_ok"), names
    later = [r["path"] for r in stub.requests()[before:]]
    assert later[0].endswith("/oauth/token") and later[-1] == "/api/hello", later


def test_retry_after_of_a_million_seconds_on_pending_does_not_crash(stub, tmp_path):
    # Retry-After: 1000000 (11.6 days) on authorization_pending. Before: ticks_add raised
    # OverflowError and the firmware died. Now the device honours it as far as the code lives:
    # it polls no more, and says the code expired when it did.
    stub.configure(expires_in=6, approve_after=None, force={
        "status": 400, "content_type": "application/json", "count": 1, "paths": ["/oauth/token"],
        "headers": {"Retry-After": "1000000"},
        "body": '{"error": "authorization_pending", "error_description": "wait"}'})
    dev = Device(tmp_path, stub)
    rc = dev.run("--once", "--ticks-start", str(PERIOD - 2500), timeout=40)
    assert rc == 3, dev.log_text()
    assert dev.events("error")[-1]["reason"] == "expired_token", dev.log_text()
    polls = stub.token_posts("device_code")
    assert len(polls) == 1 and polls[0]["forced"], polls  # nothing after the Retry-After
    assert "Traceback" not in dev.screen_text
