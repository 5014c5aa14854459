"""Network cost of a sign-in, measured on the MicroPython Unix port against the stub server.

The firmware (firmware/main.py) runs as a Unix-port process against tools/stub_server.py over
verified HTTPS on 127.0.0.1; the stub counts requests, TCP connections and TLS handshakes.
In the same run, the same sign-in is done with micropython-lib `requests` (frozen into the
Unix port: one connection per request, CERT_NONE, which it forces) as the baseline.

    .venv/bin/python tools/bench_flow.py

run() returns rows for tools/bench.py: dicts with bench, ours, peer, target, met.
The user approves T seconds after the code is issued; the server's interval is I seconds.
"""
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from device import Device, MICROPYTHON, ENV  # noqa: E402
from stubctl import start_stub  # noqa: E402

INTERVAL = 2      # I, seconds
APPROVE_AFTER = 5  # T, seconds
DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/.well-known/jwks.json"

BASELINE = r"""
import json, sys, time
import requests
BASE = sys.argv[1]
CLIENT = sys.argv[2]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
def post(path, body):
    r = requests.post(BASE + path, data=body.encode(), headers=FORM)
    out = (r.status_code, r.json())
    r.close()
    return out
r = requests.get(BASE + "/.well-known/openid-configuration"); r.json(); r.close()
st, dc = post("/oauth/device/code", "client_id=%s&scope=openid%%20offline_access&audience=https%%3A%%2F%%2Fapi.example.com%%2F" % CLIENT)
interval = dc.get("interval", 5)
polls = 0
while True:
    time.sleep(interval)
    polls += 1
    st, tok = post("/oauth/token", "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Adevice_code&device_code=%s&client_id=%s" % (dc["device_code"], CLIENT))
    if st == 200:
        break
    if tok.get("error") != "authorization_pending":
        print("baseline failed", tok.get("error")); sys.exit(1)
r = requests.get(BASE + "/.well-known/jwks.json"); r.json(); r.close()
r = requests.get(BASE + "/api/hello", headers={"Authorization": "Bearer " + tok["access_token"]})
print("api", r.status_code, "polls", polls)
r.close()
"""


class TimedDevice(Device):
    """Device that also remembers the host time each log line arrived."""

    def _read(self):
        self.times = []
        for line in self.proc.stdout:
            self.times.append(time.time())
            self.lines.append(line.rstrip("\n"))

    def event_time(self, name):
        from device import parse_event

        for t, line in zip(list(self.times), list(self.lines)):
            ev = parse_event(line)
            if ev and ev["event"] == name:
                return t
        return None


class Meter:
    """Request-log and stats deltas on one running stub."""

    def __init__(self, stub):
        self.stub = stub
        self.mark()

    def mark(self):
        self.n = len(self.stub.requests())
        self.stats = self.stub.stats()

    def since(self):
        reqs = self.stub.requests()[self.n:]
        now = self.stub.stats()
        delta = dict((k, now[k] - self.stats[k]) for k in now)
        return reqs, delta


def _kind(r):
    p = r["path"]
    if p == DISCOVERY:
        return "discovery"
    if p == JWKS:
        return "jwks"
    if p == "/oauth/device/code":
        return "device_code"
    if p == "/oauth/token":
        return "poll" if r.get("grant_type", "").endswith("device_code") else "refresh"
    if p.startswith("/api/"):
        return "api"
    return p


def _count(reqs, kind):
    return len([r for r in reqs if _kind(r) == kind])


def _before(reqs, kind):
    """How many requests up to and including the first one of `kind`."""
    for i, r in enumerate(reqs):
        if _kind(r) == kind:
            return i + 1
    return None


def _run_device(dev, *args, timeout=90):
    rc = dev.run(*args, timeout=timeout)
    if rc != 0:
        raise SystemExit("firmware run failed (%s):\n%s" % (rc, dev.log_text()))
    return dev


def sign_in(stub, tmp):
    """Cold first boot: no tokens, no discovery cache. Scripted user approves after T."""
    stub.configure(interval=INTERVAL, approve_after=APPROVE_AFTER)
    m = Meter(stub)
    dev = TimedDevice(os.path.join(tmp, "signin"), stub)
    _run_device(dev, "--once")
    reqs, stats = m.since()
    exit_ev = dev.events("exit")[-1]
    out = {
        "requests": len(reqs), "device_code": _count(reqs, "device_code"), "polls": _count(reqs, "poll"),
        "discovery": _count(reqs, "discovery"), "jwks": _count(reqs, "jwks"), "api": _count(reqs, "api"),
        "connections": stats["connections"], "tls_handshakes": stats["tls_handshakes"],
        "device_handshakes": int(exit_ev.get("handshakes", -1)),
        "to_code_cold": _before(reqs, "device_code"),
        "boot_to_code_ms_cold": (dev.event_time("show_code") - dev.event_time("boot")) * 1000,
    }
    # Warm boot to code: the discovery document stays cached in flash, the sign-in is forgotten.
    os.remove(os.path.join(dev.state, "tokens.json"))
    m.mark()
    _run_device(dev, "--once")
    reqs, _ = m.since()
    out["to_code_warm"] = _before(reqs, "device_code")
    out["discovery_warm"] = _count(reqs, "discovery")
    out["boot_to_code_ms_warm"] = (dev.event_time("show_code") - dev.event_time("boot")) * 1000
    return out


def baseline(stub, tmp):
    """The same sign-in with micropython-lib requests (one connection per request)."""
    stub.configure(interval=INTERVAL, approve_after=APPROVE_AFTER)
    m = Meter(stub)
    path = os.path.join(tmp, "baseline.py")
    with open(path, "w") as f:
        f.write(BASELINE)
    p = subprocess.run([MICROPYTHON, path, stub.url, stub.client_id], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=120)
    if p.returncode or "api 200" not in p.stdout:
        raise SystemExit("requests baseline failed:\n" + p.stdout + p.stderr)
    reqs, stats = m.since()
    return {"requests": len(reqs), "polls": _count(reqs, "poll"), "connections": stats["connections"],
            "tls_handshakes": stats["tls_handshakes"]}


def approval_latency(stub, tmp, samples=2):
    """Worst phase: the user approves right after a pending poll was answered. Returns a list of
    (seconds from approval to tokens stored, round trips in between)."""
    out = []
    for i in range(samples):
        stub.configure(interval=INTERVAL, approve_after=None)
        m = Meter(stub)
        dev = TimedDevice(os.path.join(tmp, "latency%d" % i), stub).start("--once")
        try:
            code = dev.wait_for("show_code", timeout=30)["user_code"]
            deadline = time.time() + 30
            while time.time() < deadline:  # wait for the first pending poll (its answer is logged)
                reqs, _ = m.since()
                if any(r.get("error") == "authorization_pending" for r in reqs):
                    break
                time.sleep(0.01)
            stub.approve(code)
            approved = time.time()
            n_at_approval = len(m.since()[0])
            dev.wait_for("tokens_stored", timeout=30)
            stored = dev.event_time("tokens_stored")
        finally:
            rc = dev.wait(60)
        if rc != 0:
            raise SystemExit("latency run failed:\n" + dev.log_text())
        reqs, _ = m.since()
        between = [r for r in reqs[n_at_approval:] if r["time"] <= stored]
        out.append((stored - approved, len(between)))
    return out


def poll_rtt(stub):
    """Median round trip of one pending-poll-sized request on a kept-alive verified connection
    from CPython (the host side of 'one round trip' on this machine)."""
    import http.client

    conn = http.client.HTTPSConnection(stub.host, stub.port, context=stub.ssl_context(), timeout=10)
    ts = []
    try:
        for _ in range(15):
            t = time.perf_counter()
            conn.request("GET", DISCOVERY)
            conn.getresponse().read()
            ts.append(time.perf_counter() - t)
    finally:
        conn.close()
    ts.sort()
    return ts[len(ts) // 2]


class ApiPeer:
    """The sensor's API: a real HTTPS server on 127.0.0.1 (the stub's localhost leaf, so the
    device's CA trusts it) that takes POSTed readings with a bearer token. The stub's own /api/
    answers GET only, and a real sensor's API is usually another host than the provider."""

    def __init__(self, certs_dir):
        import http.server
        import ssl
        import threading

        peer = self
        self.requests = []
        self.handshakes = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                peer.handshakes += 1  # one TLS handshake per connection (wrap happens at accept)
                http.server.BaseHTTPRequestHandler.setup(self)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                ok = (self.headers.get("Authorization") or "").startswith("Bearer ")
                peer.requests.append({"path": self.path, "bearer": ok})
                body = b'{"ok":true}' if ok else b'{"error":"invalid_token"}'
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs_dir, "server.pem"), os.path.join(certs_dir, "server.key"))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = "https://localhost:%d/api/reading" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def sensor(stub, tmp):
    """Sensor mode: wake, refresh only when needed, post a reading, exit ("deep sleep").
    Requests per wake are counted at both peers: the provider (stub) and the API."""
    ttl = 6
    stub.configure(interval=INTERVAL, approve_after=0, access_ttl=ttl, rotation=True)
    api = ApiPeer(os.path.join(tmp, "stub", "certs"))
    try:
        dev = TimedDevice(os.path.join(tmp, "sensor"), stub, mode="sensor", sleep_s=1,
                          refresh_margin_s=0, refresh_window_s=0, api_url=api.url)
        _run_device(dev, "--once")  # first wake: signs in (device flow), posts, sleeps
        res = {}
        for name, pause in (("valid", 0), ("due", ttl + 0.5)):
            time.sleep(pause)
            m = Meter(stub)
            n, h = len(api.requests), api.handshakes
            t = time.time()
            _run_device(dev, "--once")
            res[name + "_s"] = time.time() - t
            reqs, stats = m.since()
            res[name] = [_kind(r) for r in reqs] + ["api"] * (len(api.requests) - n)
            res[name + "_handshakes"] = stats["tls_handshakes"] + api.handshakes - h
        res["refreshed"] = bool(dev.events("refreshed"))
        res["api_ok"] = all(r["bearer"] for r in api.requests)
    finally:
        api.close()
        stub.configure(access_ttl=86400)
    return res


def run():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        with start_stub(os.path.join(tmp, "stub"), tls=True, interval=INTERVAL) as stub:
            ours = sign_in(stub, tmp)
            peer = baseline(stub, tmp)
            lat = approval_latency(stub, tmp)
            rtt = poll_rtt(stub)
            sen = sensor(stub, tmp)
    minimum = 1 + int(math.ceil(APPROVE_AFTER / float(INTERVAL)))
    flow = ours["device_code"] + ours["polls"]
    tag = "T=%ds, I=%ds" % (APPROVE_AFTER, INTERVAL)
    rows.append({"bench": "sign-in: device-code + poll requests (%s)" % tag,
                 "ours": flow, "peer": peer["polls"] + 1, "target": "= %d (1 + ceil(T/I))" % minimum,
                 "met": flow == minimum})
    rows.append({"bench": "sign-in: all requests (discovery, code, polls, JWKS, API)",
                 "ours": ours["requests"], "peer": peer["requests"], "target": "same sequence",
                 "met": ours["requests"] <= peer["requests"]})
    rows.append({"bench": "sign-in: TLS handshakes, whole flow (stub count)",
                 "ours": ours["tls_handshakes"], "peer": peer["tls_handshakes"], "target": "1",
                 "met": ours["tls_handshakes"] == 1 and ours["device_handshakes"] == 1,
                 "ratio": "%.2f" % (ours["tls_handshakes"] / float(peer["tls_handshakes"]))})
    rows.append({"bench": "sign-in: handshake time on an ESP32 at 1.2-2.5 s each",
                 "ours": "%.1f-%.1f s" % (1.2 * ours["tls_handshakes"], 2.5 * ours["tls_handshakes"]),
                 "peer": "%.1f-%.1f s" % (1.2 * peer["tls_handshakes"], 2.5 * peer["tls_handshakes"]),
                 "target": "derived", "met": None})
    worst = max(l for l, _ in lat)
    trips = max(n for _, n in lat)
    rows.append({"bench": "approval -> tokens stored, worst phase (s), %d runs" % len(lat),
                 "ours": "%.3f" % worst, "peer": "-",
                 "target": "<= I + 1 RTT (%.3f) + local work" % (INTERVAL + rtt),
                 "met": worst <= INTERVAL + rtt + 0.1 and trips <= 1})
    rows.append({"bench": "approval -> tokens stored: round trips after approval",
                 "ours": trips, "peer": "-", "target": "1", "met": trips <= 1})
    rows.append({"bench": "boot -> code on screen: round trips, no discovery cache",
                 "ours": ours["to_code_cold"], "peer": "-", "target": "2 (discovery + code)",
                 "met": ours["to_code_cold"] == 2})
    rows.append({"bench": "boot -> code on screen: round trips, discovery cached",
                 "ours": ours["to_code_warm"], "peer": "-", "target": "1", "met": ours["to_code_warm"] == 1})
    rows.append({"bench": "boot -> code on screen (ms, Unix port, cold / cached)",
                 "ours": "%.0f / %.0f" % (ours["boot_to_code_ms_cold"], ours["boot_to_code_ms_warm"]),
                 "peer": "-", "target": "-", "met": None})
    rows.append({"bench": "sensor wake, token valid: requests (TLS handshakes)",
                 "ours": "%d (%d) %s, awake %.1f s" % (len(sen["valid"]), sen["valid_handshakes"], "+".join(sen["valid"]),
                                                  sen["valid_s"]),
                 "peer": "-", "target": "1 (the API call; API on its own host)", "met": sen["valid"] == ["api"]})
    rows.append({"bench": "sensor wake, refresh due: requests (TLS handshakes)",
                 "ours": "%d (%d) %s, awake %.1f s" % (len(sen["due"]), sen["due_handshakes"], "+".join(sen["due"]),
                                                  sen["due_s"]),
                 "peer": "-", "target": "2 (refresh + API; 2 hosts)",
                 "met": sen["due"] == ["refresh", "api"] and sen["refreshed"]})
    return rows, {"ours": ours, "peer": peer, "latency": lat, "rtt_s": rtt, "sensor": sen}


if __name__ == "__main__":
    from bench_rows import standalone

    standalone(run)
