"""Memory budget, measured the ESP32 way: on the 32-bit Unix port (4-byte pointers, 16-byte GC
blocks, as on an ESP32; tools/build_port32.py builds it), against the stub over plain HTTP (on an
ESP32 mbedTLS allocates from the IDF heap, not the GC heap). For each install path the firmware
signs in completely inside a fixed heap: code screen with its QR on a 128x64 display, polls,
JWKS fetch and ID-token check, store write, one API call; and a wake refreshes and calls the API.

tools/heap_budget.py finds the smallest heaps by bisection (`make bench` prints them); this test
holds lines a little above them, so a regression fails CI. Cost: two port builds (cached), one
.mpy build, and a few firmware runs."""
import os
import sys

import pytest

from stubctl import start_stub

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import heap_budget  # noqa: E402

# tools/heap_budget.py on the 32-bit port, plain HTTP, oled_128x64.
MEASURED_KIB = {"mpy": {"sign_in": 92, "refresh": 92}, "frozen": {"sign_in": 34, "refresh": 33}}
# The line held: measured plus a little. The smallest heap moves by about 1 KiB from run to run
# (user codes, ports and timing change what is allocated where), so less would flake.
MARGIN_KIB = 4


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("heap"))
    return {install: heap_budget.target(install, work) for install in ("mpy", "frozen")}


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    with start_stub(str(tmp_path_factory.mktemp("stub")), tls=False, interval=1, approve_after=0) as s:
        yield s


@pytest.mark.parametrize("install", ["mpy", "frozen"])
def test_whole_sign_in_fits_the_heap_line(targets, stub, tmp_path, install):
    line = MEASURED_KIB[install]["sign_in"] + MARGIN_KIB
    ok, why = heap_budget.sign_in_fits(str(tmp_path), stub, targets[install], line)
    assert ok, "%s sign-in does not fit %d KiB: %s" % (install, line, why)


@pytest.mark.parametrize("install", ["mpy", "frozen"])
def test_refresh_wake_fits_the_heap_line(targets, stub, tmp_path, install):
    line = MEASURED_KIB[install]["refresh"] + MARGIN_KIB
    state = heap_budget.signed_in_state(str(tmp_path), stub, targets[install])
    try:
        ok, why = heap_budget.refresh_fits(str(tmp_path), stub, targets[install], state, line)
    finally:
        stub.reset()
    assert ok, "%s refresh wake does not fit %d KiB: %s" % (install, line, why)


def test_a_heap_well_below_the_line_fails_with_memory_error(targets, stub, tmp_path):
    # The heap size really is enforced: the same run in 3/4 of the measured minimum fails.
    ok, why = heap_budget.sign_in_fits(str(tmp_path), stub, targets["mpy"], MEASURED_KIB["mpy"]["sign_in"] * 3 // 4)
    assert not ok and "MemoryError" in why, why


# ---- soak: refresh + store + API cycles show no heap growth ------------------------------------
# SOAK_CYCLES: 10,000 by default (about 50 s with the NODELAY stub below).
SOAK_CYCLES = int(os.environ.get("SOAK_CYCLES", "10000"))
SOAK_TOLERANCE = 512  # bytes: median of the last 1,000 cycles' samples over the first 1,000's


def _first_refresh_token(stub):
    status, code = stub.post_form("/oauth/device/code", client_id=stub.client_id,
                                  scope="openid profile offline_access", audience="https://api.example.com/")
    assert status == 200, code
    stub.approve(code["user_code"])
    status, tokens = stub.post_form("/oauth/token", client_id=stub.client_id, device_code=code["device_code"],
                                    grant_type="urn:ietf:params:oauth:grant-type:device_code")
    assert status == 200 and tokens.get("refresh_token"), status
    return tokens["refresh_token"]


def run_soak(workdir, stub, cycles, every=10, timeout=1800):
    """Run tests/soak.py on the Unix port; -> (samples [(cycle, alloc)], done line, seconds)."""
    import json
    import subprocess
    import time

    from device import ENV, MICROPYTHON

    with open(os.path.join(workdir, "soak.json"), "w") as f:
        json.dump({"token_url": stub.url + "/oauth/token", "api_url": stub.url + "/api/hello",
                   "client_id": stub.client_id, "ca_file": stub.ca_pem}, f)
    with open(os.path.join(workdir, "rt"), "w") as f:
        f.write(_first_refresh_token(stub))
    t0 = time.monotonic()
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=1M", "tests/soak.py", workdir, str(cycles), str(every)],
                       cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t0
    lines = p.stdout.splitlines()
    assert p.returncode == 0, (lines[-5:], p.stderr[-2000:])
    samples = []
    for line in lines:
        if line.startswith("mem "):
            f = dict(w.split("=") for w in line.split()[1:])
            samples.append((int(f["cycle"]), int(f["alloc"])))
    return samples, lines[-1], took


def _median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


# Real servers (nginx, Auth0's edge) set TCP_NODELAY; the stub writes a reply's head and body
# separately without it, so Nagle plus Linux's 40 ms delayed ACK would add 40 ms to every
# exchange and the soak would spend its time asleep. The stub process imports this at startup
# (PYTHONPATH sitecustomize): accepted sockets get TCP_NODELAY, nothing else changes.
_NODELAY_SITE = """
import socket, socketserver
_accept = socketserver.TCPServer.get_request
def _get_request(self):
    sock, addr = _accept(self)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    return sock, addr
socketserver.TCPServer.get_request = _get_request
"""


def test_soak_refresh_store_api_cycles_do_not_grow_the_heap(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_NODELAY_SITE)
    monkeypatch.setenv("PYTHONPATH", str(site))
    with start_stub(str(tmp_path / "stub"), tls=True, rotation=True, access_ttl=3600) as stub:
        monkeypatch.delenv("PYTHONPATH")
        work = str(tmp_path / "soak")
        os.makedirs(work)
        samples, done, took = run_soak(work, stub, SOAK_CYCLES)
        refreshes = [r for r in stub.requests() if r.get("grant_type") == "refresh_token"]
        served = stub.stats()["requests"]
    assert done.startswith("done cycles=%d " % SOAK_CYCLES), done
    assert done.endswith("handshakes=1"), done  # one kept-alive TLS connection the whole way
    assert served == 2 + 2 * SOAK_CYCLES, served  # code + poll, then a refresh and an API call a cycle
    assert refreshes and all(r["status"] == 200 for r in refreshes)  # (the stub logs the last 10,000)
    first = [a for c, a in samples if c <= 1000]
    last = [a for c, a in samples if c > SOAK_CYCLES - 1000]
    growth = _median(last) - _median(first)
    print("soak: %d cycles in %.1f s; heap median first 1000 = %d, last 1000 = %d (growth %d B)"
          % (SOAK_CYCLES, took, _median(first), _median(last), growth))
    assert growth <= SOAK_TOLERANCE, (growth, first[:5], last[-5:])
