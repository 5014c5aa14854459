"""End-to-end: the firmware (MicroPython Unix port) refuses every server it cannot verify.

Each bad certificate (a CA nobody trusts, expired, another host's, self-signed) is refused at the
handshake with a clear screen and `event=error reason=tls_...`, and the server never receives a
single HTTP request: no insecure fallback, no token or device code sent. Plain http to a host
that is not this machine is refused by the config and, independently, by the transport.
Cost: about 25 s (the impostor test waits for the refresh backoff).
"""
import os
import socket
import subprocess
import threading
import time

import pytest

from device import ENV, MICROPYTHON, ROOT, Device
from stubctl import start_stub

EXPECTED = {"untrusted": "tls_untrusted", "expired": "tls_expired",
            "wronghost": "tls_hostname", "selfsigned": "tls_untrusted"}


@pytest.mark.parametrize("leaf", sorted(EXPECTED))
def test_bad_certificate_is_refused_before_any_request(tmp_path, leaf):
    with start_stub(str(tmp_path / "stub"), leaf=leaf, interval=1, approve_after=0) as stub:
        dev = Device(tmp_path, stub)   # trusts the test CA, as for the good server
        assert dev.run("--once", timeout=30) == 4, dev.log_text()
        err = dev.wait_for("error", reason=EXPECTED[leaf])
        assert "localhost" in err["detail"]
        dev.wait_for("screen", kind="tls")
        assert not dev.events("show_code") and not dev.events("tokens_stored")
        assert stub.requests() == []   # not one HTTP request reached the server
        stats = stub.stats_once("tls_failures", 1)
        assert stats["tls_handshakes"] == 0 and stats["tls_failures"] >= 1, stats


def test_untrusted_server_is_retried_slowly_and_never_trusted(tmp_path):
    """A kiosk left running keeps refusing (with backoff), it never gives in and never crashes."""
    with start_stub(str(tmp_path / "stub"), leaf="untrusted", interval=1, approve_after=0) as stub:
        dev = Device(tmp_path, stub).start()
        try:
            dev.wait_for("error", reason="tls_untrusted")
            time.sleep(7)
            assert dev.proc.poll() is None, dev.log_text()   # still running
        finally:
            assert dev.quit() == 0
        refusals = [e for e in dev.events("error") if e["reason"] == "tls_untrusted"]
        stats = stub.stats_once("tls_failures", len(refusals))
        # Backoff of 2 s doubling (full jitter, never under 2 s): at most 5 attempts in ~7.5 s.
        assert 2 <= len(refusals) <= 5, dev.log_text()
        assert stats["tls_failures"] == len(refusals), stats
        assert stats["tls_handshakes"] == 0 and stub.requests() == []
        assert [e["kind"] for e in dev.events("screen")][-1] == "tls"


def test_impostor_mid_session_never_gets_the_refresh_token(tmp_path):
    """Signed in; then another certificate appears on the server's address (a MITM on the Wi-Fi).
    The device refuses it while its access token runs out, keeps its stored refresh token, and
    refreshes with the real server once it is back."""
    with start_stub(str(tmp_path / "stub"), interval=1, approve_after=0, access_ttl=4) as stub:
        dev = Device(tmp_path, stub, refresh_margin_s=0, refresh_window_s=0, refresh_spread_s=0,
                     api_interval_s=1).start()
        try:
            dev.wait_for("api_ok", timeout=30)
            stub._control("POST", "/_stub/listen", {"up": False})
            stub._control("POST", "/_stub/listen", {"up": True, "leaf": "untrusted"})
            seen = len(stub.requests())
            dev.wait_for("error", reason="tls_untrusted", timeout=30)
            dev.wait_for("screen", kind="tls", timeout=5)
            time.sleep(5)   # the access token (4 s) runs out meanwhile: a refresh is due
            assert os.path.exists(os.path.join(dev.state, "tokens.json"))
            assert len(stub.requests()) == seen   # the impostor got no request at all
            stub._control("POST", "/_stub/listen", {"up": False})
            stub._control("POST", "/_stub/listen", {"up": True})   # the real one is back
            dev.wait_for("refreshed", timeout=30)
            n_ok = len(dev.events("api_ok"))
            dev.wait_for_count("api_ok", n_ok + 1, timeout=10)
        finally:
            dev.quit()
        assert not any(r.get("error") == "invalid_grant" for r in stub.requests())
        assert not dev.events("show_code")[1:], "signed in again instead of refreshing"
        assert [e["kind"] for e in dev.events("screen")][-1] == "success", dev.log_text()


# ---- plain http to a host that is not this machine ----------------------------------------------

def _lan_address():
    """This machine's own non-loopback IPv4 address, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("198.51.100.1", 9))   # no packet is sent: this only picks the route
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


class Listener:
    """A plain TCP listener on the LAN address; answers any request with a tiny 200 and counts."""

    def __init__(self, ip):
        self.sock = socket.socket()
        self.sock.bind((ip, 0))
        self.sock.listen(8)
        self.url = "http://%s:%d" % (ip, self.sock.getsockname()[1])
        self.accepted = 0
        self.received = b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(5)
            try:
                self.received += conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                pass
            conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def lan_listener():
    ip = _lan_address()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    listener = Listener(ip)
    yield listener
    listener.close()


@pytest.mark.parametrize("key", ["issuer", "api_url", "token_endpoint"])
def test_config_refuses_plain_http_to_another_host(tmp_path, lan_listener, key):
    https = "https://tenant.example.com/"
    cfg = {"issuer": https, "api_url": https + "api", "ca_file": None, "client_id": "demo-device-client"}
    cfg[key] = lan_listener.url + "/" + ("oauth/token" if key == "token_endpoint" else "")
    dev = Device(tmp_path, None, **cfg)
    assert dev.run("--once", timeout=30) == 2, dev.log_text()
    err = dev.wait_for("error", reason="config")
    assert err["key"] == key and "http" in err["detail"]
    dev.wait_for("screen", kind="config")
    assert lan_listener.accepted == 0


def test_config_refuses_a_loopback_lookalike_name(tmp_path):
    """127.0.0.1.example.com is a DNS name that can point anywhere: not this machine."""
    dev = Device(tmp_path, None, issuer="http://127.0.0.1.example.com/",
                 api_url="https://api.example.com/", client_id="demo-device-client")
    assert dev.run("--once", timeout=30) == 2, dev.log_text()
    assert dev.wait_for("error", reason="config")["key"] == "issuer"


PROBE = r"""
import sys
from deviceflow.errors import TransportError
from deviceflow.http import Transport
url = sys.argv[1]
try:
    r = Transport().request("POST", url, {"Content-Type": "application/x-www-form-urlencoded"},
                            b"grant_type=refresh_token&refresh_token=R")
    print("SENT", r.status)
except TransportError as e:
    print("REFUSED", e.reason, e.detail)
r = Transport(allow_insecure_http=True).request("GET", url)
print("INSECURE_ALLOWED", r.status)
"""


def test_transport_refuses_plain_http_to_another_host_at_request_time(tmp_path, lan_listener):
    """Defence in depth: whatever URL reaches the transport, plain http leaves this machine only
    with allow_insecure_http. The same listener is reachable (second request) so the test can fail."""
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    out = subprocess.run([MICROPYTHON, str(script), lan_listener.url + "/oauth/token"], cwd=ROOT,
                         env=dict(ENV, MICROPYPATH=os.path.join(ROOT, "lib")), capture_output=True,
                         text=True, timeout=30)
    lines = out.stdout.splitlines()
    assert lines and lines[0].startswith("REFUSED insecure_url"), out.stdout + out.stderr
    assert lan_listener.url.split("//")[1].split(":")[0] in lines[0]
    assert lines[1] == "INSECURE_ALLOWED 200", out.stdout + out.stderr
    assert lan_listener.accepted == 1 and b"refresh_token" not in lan_listener.received
