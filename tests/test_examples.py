"""The examples in examples/, each run as a MicroPython Unix-port process against the stub
(a real HTTPS server whose simulated user approves the code), asserting on what they print.
The MQTT example talks to MqttPeer: a real TCP server on 127.0.0.1 that speaks just enough
MQTT 3.1.1 to check the CONNECT's password against the token the stub issued."""
import json
import os
import socket
import struct
import subprocess
import threading
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


def _run(example, *args, timeout=60, path=""):
    # The library alone, no firmware/ (with micropython-lib's hmac when make test passes it).
    env = dict(os.environ, MICROPYPATH="lib:.frozen" + (":" + MPYLIB if MPYLIB else "") + path)
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
        assert "event refreshed rotated=1" in third, third  # the stub rotates refresh tokens
        assert _grants(stub)[-2:] == ["refresh_token", "/api/reading"]

        stub.reset_grants()  # the grant revoked at the provider
        time.sleep(4.5)
        fourth = _run("sensor.py", cfg)  # the refresh answers invalid_grant: sign in again
        assert any(ln.startswith("event error ") and " reason=invalid_grant" in ln for ln in fourth), fourth
        assert [ln for ln in fourth if ln.startswith("sign in at ")]
        assert [ln for ln in fourth if ln.startswith("api 200 ")]
        assert _grants(stub)[-4:] == ["refresh_token", "/oauth/device/code", device_grant, "/api/reading"]


def test_asyncio_app_blinks_while_it_signs_in_and_calls_the_api_every_n_seconds(tmp_path):
    with start_stub(tmp_path / "stub", interval=1, approve_after=0) as stub:
        out = _run("blink_async.py", _config(tmp_path, stub), "1", "2")
        code = out.index(next(ln for ln in out if ln.startswith("event show_code ")))
        signed = out.index(next(ln for ln in out if ln.startswith("event signed_in ")))
        blinks = [int(ln.split()[1]) for ln in out[code:signed] if ln.startswith("blink ")]
        # the stub's interval is 1 s and the blink 0.1 s: it kept blinking through the wait
        assert len(blinks) >= 5 and blinks == sorted(blinks), out
        calls = [ln for ln in out if ln.startswith("api ")]
        assert [c.split()[:3] for c in calls] == [["api", "1", "200"], ["api", "2", "200"]]
        between = out[out.index(calls[0]):out.index(calls[1])]
        assert len([ln for ln in between if ln.startswith("blink ")]) >= 5  # 1 s apart, blinking
        assert [q["path"] for q in stub.requests()].count("/api/reading") == 2


class MqttPeer:
    """One MQTT connection: CONNECT is answered with CONNACK 0 when its user and password are
    the expected ones (expected() is called then), else 5 (not authorized) and the end; then
    PUBLISH packets are kept until DISCONNECT."""

    def __init__(self, expected):
        self.expected = expected
        self.connect = None
        self.published = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(60)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn, self.sock:
            conn.settimeout(60)
            while True:
                kind, body = self._packet(conn)
                if kind == 0x10:
                    self.connect = _parse_connect(body)
                    ok = (self.connect.get("user"), self.connect.get("password")) == self.expected()
                    conn.sendall(bytes([0x20, 2, 0, 0 if ok else 5]))
                    if not ok:
                        return
                elif kind == 0x30:
                    n = struct.unpack("!H", body[:2])[0]
                    self.published.append((body[2:2 + n].decode(), body[2 + n:]))
                else:  # DISCONNECT, or anything this peer does not speak
                    return

    def _packet(self, conn):
        head = _read(conn, 1)[0]
        size = shift = 0
        while True:
            b = _read(conn, 1)[0]
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return head & 0xF0, _read(conn, size)


def _read(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _parse_connect(body):
    """CONNECT's variable header and payload (MQTT 3.1.1 section 3.1) as a dict."""
    def string(i):
        n = struct.unpack("!H", body[i:i + 2])[0]
        return body[i + 2:i + 2 + n].decode(), i + 2 + n

    proto, i = string(0)
    level, flags = body[i], body[i + 1]
    out = {"protocol": proto, "level": level}
    out["client_id"], i = string(i + 4)
    if flags & 0x04:  # a will: topic and message
        i = string(string(i)[1])[1]
    if flags & 0x80:
        out["user"], i = string(i)
    if flags & 0x40:
        out["password"], i = string(i)
    return out


def _umqtt_folder():
    import build_port32  # tools/ is on sys.path (tests/device.py)

    tree = build_port32.source_tree(os.environ.get("MPY_DIR") or None)
    return os.path.join(tree, "lib", "micropython-lib", "micropython", "umqtt.simple")


def test_umqtt_connects_with_the_access_token_as_its_password(tmp_path):
    with start_stub(tmp_path / "stub", interval=1, approve_after=0) as stub:
        def issued():
            return "sensor-1", stub._control("GET", "/_stub/secrets")[1]["access_token"][-1]

        peer = MqttPeer(issued)
        cfg = _config(tmp_path, stub)
        doc = json.load(open(cfg))
        doc.update(mqtt_host="127.0.0.1", mqtt_port=peer.port)
        open(cfg, "w").write(json.dumps(doc))
        out = _run("mqtt.py", cfg, path=":" + _umqtt_folder())
        peer.thread.join(10)
        assert out[-2:] == ["connected", "published"], out
        assert peer.connect["protocol"] == "MQTT" and peer.connect["level"] == 4
        assert peer.connect["password"].count(".") == 2  # the stub's access token is a JWT
        assert peer.published == [("sensors/sensor-1/reading", b'{"temperature_c": 21.5}')]
