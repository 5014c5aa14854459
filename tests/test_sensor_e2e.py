"""Sensor mode end to end: each run of the firmware is one wake from deep sleep (on the Unix port
"deep sleep" ends the process). A wake with a valid token costs one request (the reading posted to
the API); a wake with a refresh due costs two; state survives between wakes in flash."""
import time

import pytest

from device import Device
from stubctl import start_stub


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1, approve_after=1, access_ttl=3) as s:
        yield s


def wake(dev, stub):
    before = len(stub.requests())
    assert dev.run(timeout=60) == 0, dev.log_text()
    dev.wait_for("sleep", seconds="300")
    return stub.requests()[before:]


def test_sensor_wakes_post_a_reading_and_refresh_only_when_needed(stub, tmp_path):
    dev = Device(tmp_path, stub, mode="sensor", sleep_s=300)
    first = wake(dev, stub)  # signs in, then posts its first reading
    dev.wait_for("tokens_stored")
    assert first[-1]["method"] == "POST" and first[-1]["path"] == "/api/hello"
    again = wake(dev, stub)  # token still valid: the reading is the only request
    assert [(r["method"], r["path"]) for r in again] == [("POST", "/api/hello")], again
    assert not dev.events("show_code")
    time.sleep(3.2)  # the 3 s access token has expired while "asleep"
    later = wake(dev, stub)
    assert [(r["method"], r["path"]) for r in later] == [("POST", "/oauth/token"), ("POST", "/api/hello")]
    dev.wait_for("refreshed")
