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


def _token_posts(stub, grant):
    return [r for r in stub.requests()
            if r["path"].endswith("/oauth/token") and r.get("grant_type", "").endswith(grant)]


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
        dev.press("quit")
        dev.wait(20)
    reqs = stub.requests()
    polls = _token_posts(stub, "device_code")
    assert len(polls) >= 3, polls
    gaps = [b["time"] - a["time"] for a, b in zip(polls, polls[1:])]
    assert min(gaps) >= 0.95, gaps  # never sooner than the interval, before or after the wrap
    assert max(gaps) < 3, gaps  # and the wrap did not stall polling either
    assert not any(r.get("error") == "slow_down" for r in polls)
    assert polls[-1]["status"] == 200
    refreshes = _token_posts(stub, "refresh_token")
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
        dev.press("quit")
        dev.wait(20)
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
