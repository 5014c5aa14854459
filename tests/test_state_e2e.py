"""End-to-end: sound state over a device's life (issue 13). The firmware runs as a MicroPython
Unix-port process (tests/device.py) against the stub over verified HTTPS.

- a full flash after a refresh: the new tokens are used from RAM, only the write is retried;
"""
import errno
import os
import subprocess
import time

import pytest

from device import Device
from stubctl import start_stub


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1, approve_after=1) as s:
        yield s


def _token_posts(stub, grant):
    return [r for r in stub.requests()
            if r["path"] == "/oauth/token" and r.get("grant_type", "").endswith(grant)]


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
        deadline = time.time() + 20
        while len(dev.events("refreshed")) < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert len(dev.events("refreshed")) >= 2, dev.log_text()
        assert len(dev.events("error")) >= 2  # the write was retried, and failed again
        stored = len(dev.events("tokens_stored"))
        os.remove(filler)  # room again: the next retry writes the record
        deadline = time.time() + 30
        while len(dev.events("tokens_stored")) == stored and time.time() < deadline:
            time.sleep(0.2)
        assert len(dev.events("tokens_stored")) > stored, dev.log_text()
    finally:
        dev.press("quit")
        rc = dev.wait(20)
    assert rc == 0, dev.log_text()
    errors = dev.events("error")
    assert {e["reason"] for e in errors} == {"store_write_failed"}, errors
    names = [e["event"] for e in dev.events()]
    first_fail = names.index("error")
    assert "api_ok" in names[first_fail:], names  # the API went on with the RAM tokens
    refreshes = _token_posts(stub, "refresh_token")
    assert refreshes and all(r["status"] == 200 for r in refreshes), refreshes
    # Flash holds the newest refresh token: a reboot refreshes with it (reuse would be refused).
    before = len(stub.requests())
    dev.config.update(api_interval_s=60)
    dev.write_config()
    assert dev.run("--once") == 0, dev.log_text()
    later = _token_posts(stub, "refresh_token")[len(refreshes):]
    assert [r["status"] for r in later] in ([], [200]), later
    assert stub.requests()[before:][-1]["path"] == "/api/hello"
