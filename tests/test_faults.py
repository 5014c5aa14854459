"""End-to-end fault injection: a kiosk on flaky Wi-Fi never crashes, never hammers the server,
says what is wrong, recovers by itself, and keeps its refresh token.

Every fault (connection refused, reset mid-response, read timeout, 500/502/503 with and without
Retry-After, 429 with Retry-After, a truncated body, malformed JSON, an HTML page, a 1 MB body
with and without Content-Length, a wrong Content-Type, a 1-byte-per-second drip) is injected by
the stub server (tools/stub: the `force` setting, /_stub/listen) in each phase where it matters:

  boot     discovery at boot (the server is down or failing before anything is known)
  code     the device authorization request (no code on screen yet)
  poll     token polling while the user is on the way
  refresh  the refresh token grant of a signed-in device
  api      the protected API call of a signed-in device

Each scenario runs the firmware as a MicroPython Unix-port process (tests/device.py) against its
own stub; scenarios run in parallel (SCENARIO_WORKERS at a time) in one module fixture, and each
test checks one scenario's record. Cost: about 2 minutes for the whole file on 2 cores.
"""
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from device import Device
from secrets_scan import assert_no_secrets
from stubctl import start_stub

SCENARIO_WORKERS = 10
HTTP_TIMEOUT_S = 2
RA = 3   # Retry-After seconds used by the *_ra faults (longer than every floor it must beat)
JSON = "application/json"

# name -> (fault dict for the stub's `force` setting or None for a port that refuses, the error
# reasons the device may log for it)
FAULTS = {
    "refused": (None, {"refused", "reset"}),
    "reset": ({"status": 200, "content_type": JSON, "cut": 12, "reset": True,
               "body": '{"error": "authorization_pending", "error_description": "wait"}'},
              {"reset", "bad_response"}),
    "timeout": ({"delay": HTTP_TIMEOUT_S + 1.5, "status": 503, "body": "late"}, {"timeout"}),
    "500": ({"status": 500, "body": "<html><h1>Internal Server Error</h1></html>"}, {"server_busy", "api_status"}),
    "502": ({"status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>"}, {"server_busy", "api_status"}),
    "503": ({"status": 503, "body": "<html><h1>Service Unavailable</h1></html>"}, {"server_busy", "api_status"}),
    "500_ra": ({"status": 500, "body": "Internal Server Error", "content_type": "text/plain",
                "headers": {"Retry-After": str(RA)}}, {"server_busy", "api_status"}),
    "502_ra": ({"status": 502, "body": "<html>Bad Gateway</html>", "headers": {"Retry-After": str(RA)}},
               {"server_busy", "api_status"}),
    "503_ra": ({"status": 503, "content_type": JSON, "headers": {"Retry-After": str(RA)},
                "body": '{"error": "temporarily_unavailable"}'}, {"server_busy", "api_status"}),
    "429_ra": ({"status": 429, "content_type": JSON, "headers": {"Retry-After": str(RA)},
                "body": '{"error": "too_many_requests", "error_description": "Rate limit"}'},
               {"server_busy", "api_status"}),
    "truncated": ({"status": 200, "content_type": JSON, "cut": 20,
                   "body": '{"access_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "token_type": "Bearer"}'},
                  {"bad_response"}),
    "malformed_json": ({"status": 200, "content_type": JSON,
                        "body": '{"access_token": abc, "token_type": "Bearer"}'},
                       {"bad_reply"}),
    "html_page": ({"status": 200, "content_type": "text/html",
                   "body": "<!DOCTYPE html><html><body>Sign in to the guest Wi-Fi</body></html>"},
                  {"bad_reply"}),
    "huge_body": ({"status": 200, "content_type": JSON, "body": "0,", "body_size": 1 << 20}, {"too_large"}),
    "huge_stream": ({"status": 200, "content_type": JSON, "body": "0,", "body_size": 1 << 20,
                     "no_length": True}, {"too_large"}),
    "wrong_content_type": ({"status": 200, "content_type": "image/png",
                            "body": "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}, {"bad_reply"}),
    "drip": ({"status": 503, "body": "<html>slow</html>", "drip": 1.0}, {"timeout"}),
}

# Replies with status 200 whose body the app does not interpret on the API (the API is the user's).
NOT_AN_API_FAULT = ("malformed_json", "html_page", "wrong_content_type")
PHASES = {
    # path faulted, least wait after a failed request (s), after a good one (s)
    "boot": ("/.well-known/openid-configuration", 2.0, 0.0),
    "code": ("/oauth/device/code", 5.0, 0.0),    # no interval known yet: RFC 8628's 5 s
    "poll": ("/oauth/token", 1.0, 1.0),          # the stub's interval
    "refresh": ("/oauth/token", 5.0, 0.0),       # RefreshGrant's retry floor
    "api": ("/api/", 2.0, 0.8),                  # the app's backoff floor; api_interval_s (1 s,
                                                 # counted from the previous call's start)
}


def scenarios():
    out = []
    for name in FAULTS:
        out.append(("poll", name))
        out.append(("refresh", name))
        if name not in NOT_AN_API_FAULT:
            out.append(("api", name))
    for name in ("refused", "503", "html_page", "timeout"):
        out.append(("boot", name))
    for name in ("503_ra", "html_page", "malformed_json", "reset"):
        out.append(("code", name))
    return out


SCENARIOS = scenarios()


# ---- running one scenario ----------------------------------------------------------------------

class Watch:
    """Timestamps the device's log lines as they appear (the log itself has no clock)."""

    def __init__(self, dev):
        self.dev = dev
        self.stamped = []   # (time, parsed event)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        from device import parse_event
        seen = 0
        while not self.stop:
            lines = self.dev.lines
            while seen < len(lines):
                ev = parse_event(lines[seen])
                if ev:
                    self.stamped.append((time.time(), ev))
                seen += 1
            time.sleep(0.02)

    def events(self, name, since=0.0):
        return [(t, e) for t, e in self.stamped if e["event"] == name and t >= since]

    def wait(self, name, since=0.0, timeout=30, **fields):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for t, e in self.events(name, since):
                if all(e.get(k) == str(v) for k, v in fields.items()):
                    return t, e
            if self.dev.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("no event=%s %s after %.1f; log:\n%s" % (name, fields, since, self.dev.log_text()))


def _listen(stub, up):
    stub._control("POST", "/_stub/listen", {"up": up})


def _arm(stub, fault, path, count=1):
    f = dict(fault)
    f.update(count=count, paths=[path])
    stub.configure(force=f)


def _wait_forced(stub, path, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        hits = [r for r in stub.requests() if r.get("forced") and r["path"].startswith(path)]
        if hits:
            return hits[0]["time"]
        time.sleep(0.05)
    raise AssertionError("the fault was never hit: %s" % stub.requests())


def run_scenario(base, phase, fault_name):
    """Run one (phase, fault); return a record of what happened for the tests to check."""
    fault, _ = FAULTS[fault_name]
    path = PHASES[phase][0]
    rec = {"phase": phase, "fault": fault_name}
    stub_settings = {"interval": 1, "approve_after": 0 if phase in ("refresh", "api") else None,
                     "access_ttl": {"refresh": 5, "api": 6}.get(phase, 3600)}
    dev_settings = {"http_timeout_s": HTTP_TIMEOUT_S, "refresh_margin_s": 0, "refresh_window_s": 0,
                    "refresh_spread_s": 0, "api_interval_s": 60 if phase == "refresh" else 1}
    with start_stub(os.path.join(base, "stub"), **stub_settings) as stub:
        dev = Device(base, stub, **dev_settings)
        if phase in ("boot", "code"):
            stub.configure(approve_after=1)
            if fault is None:
                _listen(stub, False)
            else:
                _arm(stub, fault, path)
        dev.start()
        watch = Watch(dev)
        ok = False
        try:
            if phase == "poll":
                watch.wait("show_code")
            elif phase in ("refresh", "api"):
                watch.wait("api_ok")
            t_fault = time.time()
            rec["t_fault"] = t_fault
            if fault is None:
                if phase not in ("boot", "code"):
                    _listen(stub, False)
                state = {"boot": "endpoints", "poll": "device_poll", "refresh": "refresh", "api": "api"}[phase]
                watch.wait("error", since=t_fault, timeout=40, state=state)
                time.sleep(2.5)   # stay down a while: at most one or two more attempts
                t_clear = time.time()
                _listen(stub, True)
            else:
                if phase not in ("boot", "code"):
                    _arm(stub, fault, path)
                t_hit = _wait_forced(stub, path)
                if fault_name == "drip":
                    # The device gives up on a drip once the request's deadline (http_timeout_s) passes.
                    watch.wait("error", since=t_hit, timeout=3 * HTTP_TIMEOUT_S + 1)
                t_clear = t_hit
            rec["t_clear"] = t_clear
            if phase == "poll":
                code = watch.wait("show_code")[1]["user_code"]
                stub.approve(code)
            success = {"refresh": "refreshed"}.get(phase, "api_ok")
            rec["t_recovered"] = watch.wait(success, since=t_clear, timeout=60)[0]
            if phase == "api":   # the stored refresh token still works after the fault
                watch.wait("refreshed", since=t_clear, timeout=30)
            time.sleep(0.3)
            rec["alive"] = dev.proc.poll() is None
            ok = True
        finally:
            if not ok:
                dev.stop()   # a stuck device (e.g. in a drip) would not read "quit"
            dev.press("quit") if ok else None
            try:
                rec["rc"] = dev.wait(30)
            finally:
                watch.stop = True
                rec["events"] = list(watch.stamped)
                rec["requests"] = stub.requests()
                rec["log"] = dev.log_text()
                rec["screen_text"] = dev.screen_text
                rec["tokens_file"] = os.path.exists(os.path.join(dev.state, "tokens.json"))
                assert_no_secrets(stub, dev)
    return rec


@pytest.fixture(scope="module")
def records(request, tmp_path_factory):
    """Run every scenario selected in this session, in parallel; {(phase, fault): record or exc}."""
    wanted = set()
    for item in request.session.items:
        cs = getattr(item, "callspec", None)
        if item.module is request.module and cs and "scenario" in cs.params:
            wanted.add(cs.params["scenario"])
    base = tmp_path_factory.mktemp("faults")
    out = {}

    def one(sc):
        d = os.path.join(str(base), "%s-%s" % sc)
        try:
            out[sc] = run_scenario(d, *sc)
        except BaseException as e:   # recorded; the scenario's own test reports it
            out[sc] = e

    # The slow ones (drips, refresh backoffs) first, so they overlap with the rest.
    order = sorted(wanted, key=lambda sc: (sc[1] != "drip", sc[0] != "refresh"))
    with ThreadPoolExecutor(SCENARIO_WORKERS) as pool:
        list(pool.map(one, order))
    return out


def _ids(sc):
    return "%s-%s" % sc


def _params():
    out = []
    for sc in SCENARIOS:
        out.append(pytest.param(sc, id=_ids(sc)))
    return out


# ---- the checks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", _params())
def test_fault(records, scenario):
    rec = records[scenario]
    if isinstance(rec, BaseException):
        raise rec
    phase, name = scenario
    fault, reasons = FAULTS[name]
    path, floor_after_failure, floor_after_success = PHASES[phase]
    log = rec["log"]

    # Never crashes: alive until told to quit, clean exit, no traceback anywhere.
    assert rec["alive"] and rec["rc"] == 0, log
    assert "Traceback" not in rec["screen_text"] and "Traceback" not in log

    # Says what is wrong: an error with a reason that names the fault, while it lasts.
    errors = [e for t, e in rec["events"] if e["event"] == "error" and rec["t_fault"] <= t]
    assert errors, log
    if phase == "boot":   # discovery's own reasons for a bad answer
        reasons = reasons | {"discovery_status", "bad_discovery", "bad_reply"}
    assert errors[0]["reason"] in reasons, (errors[0], log)
    screens = [(t, e["kind"]) for t, e in rec["events"] if e["event"] == "screen"]
    during = [k for t, k in screens if rec["t_fault"] <= t <= rec["t_recovered"]]
    if phase == "poll":   # the code stays up so the user can finish signing in
        assert "code" == [k for t, k in screens if t <= rec["t_clear"]][-1], screens
    else:
        assert "network" in during or phase == "boot" and "error" in during, (screens, log)
    assert screens[-1][1] == "success", (screens, log)   # and says so once it is over

    # Never hammers: requests to the faulted path are spaced by the phase's floors, and a
    # Retry-After is honoured.
    reqs = sorted((r for r in rec["requests"] if r["path"].startswith(path)), key=lambda r: r["time"])
    if phase in ("poll", "refresh"):
        grant = "device_code" if phase == "poll" else "refresh_token"
        reqs = [r for r in reqs if r["grant_type"].endswith(grant)]
    for a, b in zip(reqs, reqs[1:]):
        gap = b["time"] - a["time"]
        failed = a.get("forced") or (a["status"] or 500) >= 429 and a.get("error") != "authorization_pending"
        floor = floor_after_failure if failed else floor_after_success
        if a["status"] == 401:   # an expired access token: refresh, then the call again at once
            floor = 0
        if a.get("forced") and fault and "Retry-After" in (fault.get("headers") or {}):
            floor = max(floor, RA)
        assert gap >= floor - 0.05, ("%.2f s after %s" % (gap, a), reqs)
    if fault is None:   # refused: the attempts are only in the device's log
        tries = [t for t, e in rec["events"] if e["event"] == "error" and e["reason"] in reasons]
        for a, b in zip(tries, tries[1:]):
            assert b - a >= floor_after_failure - 0.15, (tries, log)
        assert len(tries) <= 1 + (rec["t_clear"] - rec["t_fault"] + 1) / floor_after_failure, log

    # Recovers by itself, and keeps the refresh token: no new sign-in, the file still holds one.
    assert rec["t_recovered"] >= rec["t_clear"]
    assert rec["tokens_file"], log
    assert not any(r.get("error") == "invalid_grant" for r in rec["requests"]), rec["requests"]
    if phase in ("refresh", "api"):
        assert len([1 for t, e in rec["events"] if e["event"] == "show_code"]) == 1, log
