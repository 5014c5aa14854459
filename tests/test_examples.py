"""The examples in examples/, each run as a MicroPython Unix-port process against the stub
(a real HTTPS server whose simulated user approves the code), asserting on what they print."""
import json
import os
import subprocess
import time

from device import MICROPYTHON, MPYLIB, ROOT
from stubctl import start_stub


def _config(tmp_path, stub):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    cfg = {"issuer": stub.issuer, "client_id": "demo-device-client", "provider": "auth0",
           "audience": "https://api.example.com/", "api_url": stub.url + "/api/reading",
           "ca_file": stub.ca_pem, "state_dir": str(state)}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return str(path)


def _run(example, *args, timeout=60):
    # The library alone, no firmware/ (with micropython-lib's hmac when make test passes it).
    env = dict(os.environ, MICROPYPATH="lib:.frozen" + (":" + MPYLIB if MPYLIB else ""))
    r = subprocess.run([MICROPYTHON, "examples/" + example] + list(args), cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.splitlines()


def _grants(stub):
    return [q["grant_type"] or q["path"] for q in stub.requests() if q["method"] == "POST"]


def test_sensor_signs_in_once_then_posts_refreshes_and_signs_in_again_when_revoked(tmp_path):
    with start_stub(tmp_path / "stub", interval=1, approve_after=0, access_ttl=4) as stub:
        cfg = _config(tmp_path, stub)
        first = _run("sensor.py", cfg)
        code = [ln for ln in first if ln.startswith("sign in at ")]
        assert len(code) == 1 and stub.url + "/activate" in code[0]
        reply = [ln for ln in first if ln.startswith("api ")]
        assert len(reply) == 1 and reply[0].startswith("api 200 ")
        answer = json.loads(reply[0].split(" ", 2)[2])
        assert answer["received"] == ["humidity_pct", "temperature_c"]  # the reading arrived
        assert answer["sub"].startswith("auth0|")
        assert first[-1] == "sleeping 600 s"
        device_grant = "urn:ietf:params:oauth:grant-type:device_code"
        assert _grants(stub) == ["/oauth/device/code", device_grant, "/api/reading"]

        second = _run("sensor.py", cfg)  # the next wake: the stored token is still good
        assert not [ln for ln in second if ln.startswith("sign in at ")]
        assert [ln for ln in second if ln.startswith("api 200 ")]
        assert _grants(stub) == ["/oauth/device/code", device_grant, "/api/reading", "/api/reading"]

        time.sleep(4.5)  # the 4 s access token is now due for refresh
        third = _run("sensor.py", cfg)
        assert "event refreshed rotated=True" in third, third  # the stub rotates refresh tokens
        assert _grants(stub)[-2:] == ["refresh_token", "/api/reading"]

        stub.reset_grants()  # the grant revoked at the provider
        time.sleep(4.5)
        fourth = _run("sensor.py", cfg)  # the refresh answers invalid_grant: sign in again
        assert any(ln.startswith("event error ") and ln.endswith(" reason=invalid_grant") for ln in fourth), fourth
        assert [ln for ln in fourth if ln.startswith("sign in at ")]
        assert [ln for ln in fourth if ln.startswith("api 200 ")]
        assert _grants(stub)[-4:] == ["refresh_token", "/oauth/device/code", device_grant, "/api/reading"]


def test_asyncio_app_blinks_while_it_signs_in_and_calls_the_api_every_n_seconds(tmp_path):
    with start_stub(tmp_path / "stub", interval=1, approve_after=0) as stub:
        out = _run("blink_async.py", _config(tmp_path, stub), "1", "2")
        code = out.index(next(ln for ln in out if ln.startswith("event code ")))
        signed = out.index(next(ln for ln in out if ln.startswith("event signed_in ")))
        blinks = [int(ln.split()[1]) for ln in out[code:signed] if ln.startswith("blink ")]
        # the stub's interval is 1 s and the blink 0.1 s: it kept blinking through the wait
        assert len(blinks) >= 5 and blinks == sorted(blinks), out
        calls = [ln for ln in out if ln.startswith("api ")]
        assert [c.split()[:3] for c in calls] == [["api", "1", "200"], ["api", "2", "200"]]
        between = out[out.index(calls[0]):out.index(calls[1])]
        assert len([ln for ln in between if ln.startswith("blink ")]) >= 5  # 1 s apart, blinking
        assert [q["path"] for q in stub.requests()].count("/api/reading") == 2
