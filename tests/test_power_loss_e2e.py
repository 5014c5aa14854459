"""Power loss during refreshes: the firmware on the Unix port is SIGKILLed at random points while
it refreshes every second with rotation on. The token file must always hold a complete record
whose refresh token is the newest the server issued (or the one before it, when the power went
between the server's reply and the flash write), and the device must keep working after."""
import os
import random
import signal
import sys
import time

import pytest

from device import ROOT, Device
from stubctl import start_stub

sys.path.insert(0, os.path.join(ROOT, "lib"))
from deviceflow.store import TokenStore, load_or_create_key  # noqa: E402


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1, approve_after=1, access_ttl=2,
                    rotation=True) as s:
        yield s


def stored_record(dev):
    key = load_or_create_key(os.path.join(dev.state, "device.key"))
    store = TokenStore(os.path.join(dev.state, "tokens.json"), key)
    record = store.load()
    assert store.last_error is None, (store.last_error, store.last_error_detail)
    return record


def issued_refresh_tokens(stub):
    return stub._control("GET", "/_stub/secrets")[1]["refresh_token"]


def test_sigkill_during_refreshes_never_loses_the_grant(stub, tmp_path):
    dev = Device(tmp_path, stub, refresh_margin_s=0, refresh_window_s=0, refresh_spread_s=0,
                 api_interval_s=1)
    assert dev.run("--once") == 0, dev.log_text()
    rng = random.Random(8628)
    refreshes = 0
    for _ in range(12):
        dev.start()
        time.sleep(rng.uniform(0.3, 3.5))
        dev.proc.send_signal(signal.SIGKILL)
        dev.wait(20)
        names = [e["event"] for e in dev.events()]
        # Order on the device: the new record is on flash before `refreshed`, and `refreshed`
        # comes before the next API call uses the new access token.
        for i, name in enumerate(names):
            if name == "refreshed":
                refreshes += 1
                assert names[i - 1] == "tokens_stored", names
        record = stored_record(dev)
        assert record is not None and record["access_token"]
        assert record["refresh_token"] in issued_refresh_tokens(stub)[-2:]
        assert not [e for e in dev.events("error") if e["reason"].startswith("store_")]
    assert refreshes >= 5  # the kills really landed among refreshes
    assert dev.run("--once") == 0, dev.log_text()  # still signed in (or signed in again by itself)
