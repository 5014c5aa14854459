"""`make playground`: the device flow in a browser, with the real firmware inside.

    make playground                          # the bundled stub server; you are the user
    make playground CONFIG=my-tenant.json    # the same firmware against your real tenant
    python tools/playground.py [--config FILE] [--port N] [--display CLASS] [--no-browser]

It starts the stub server (tests/stubctl.py) and the firmware on the MicroPython Unix port,
serves one page on http://127.0.0.1:PORT/ (this machine only) and opens it when a browser is
there. The page shows the device's screen (the framebuffer the firmware draws, exported by
boards/unix.py with DEVICEFLOW_FRAMES), its buttons, the user's side (the stub's activation
page, proxied here so the browser need not trust the test CA), the device's event log and the
server's log as they happen, and faults to inject. The page never receives a device code or a
token: it gets the event log (which has none), the stub's request log and the screen's pixels.
"""
import argparse
import base64
import http.client
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
STATIC = os.path.join(ROOT, "tools", "playground")
sys.path.insert(0, os.path.join(ROOT, "tests"))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
MP_PATH = "lib:firmware:boards:.frozen"
DEFAULT_DISPLAY = "oled_128x64"
LOG_KEEP = 2000          # lines kept for a page that connects late
FRAME_MAGIC = b"DF"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# The stub's settings and the device's config in stub mode: Auth0's 5 s poll interval, short
# token lifetimes and a 10 s API period, so a refresh and a fault's effect come within a minute.
STUB_SETTINGS = {"interval": 5, "access_ttl": 180, "approve_after": None}
DEVICE_TUNING = {"api_spread_s": 0, "api_interval_s": 10, "refresh_margin_s": 30,
                 "refresh_window_s": 30, "refresh_spread_s": 0}
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8"}


# ---- configuration (pure functions, unit-tested in tests/test_playground.py) -------------------

def display_classes():
    """{class: [width, height, depth]} as boards/unix.py knows them (asked of MicroPython, so a
    class added there appears in the page's menu)."""
    code = "import json, unix; print(json.dumps(unix.SIZES))"
    out = subprocess.run([MICROPYTHON, "-c", code], cwd=ROOT, capture_output=True,
                         env=dict(os.environ, MICROPYPATH=MP_PATH), timeout=30)
    if out.returncode != 0:
        raise RuntimeError("cannot read boards/unix.py SIZES: %s" % out.stderr.decode(errors="replace"))
    return {k: list(v) for k, v in json.loads(out.stdout).items()}


def tenant_config(raw, state_dir):
    """A user's config (parsed JSON) -> the config the playground's device runs with: the Unix
    board (whose screen the page shows) and its own state directory, everything else as given."""
    if not isinstance(raw, dict):
        raise ValueError("the config file must hold a JSON object")
    for key in ("issuer", "client_id", "api_url"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ValueError("the config needs '%s' (see README: Configuration)" % key)
    cfg = dict(raw)
    cfg["board"] = "unix"
    cfg["state_dir"] = state_dir
    return cfg


def read_tenant_config(path, state_dir):
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError as e:
        raise ValueError("cannot read %s: %s" % (path, e.strerror))
    except ValueError:
        raise ValueError("%s is not valid JSON" % path)
    return tenant_config(raw, state_dir)


def stub_device_config(stub, state_dir):
    cfg = {"issuer": stub.issuer, "client_id": stub.client_id, "provider": "auth0",
           "audience": "https://api.example.com/", "api_url": stub.url + "/api/hello",
           "ca_file": stub.ca_pem, "board": "unix", "state_dir": state_dir}
    cfg.update(DEVICE_TUNING)
    return cfg


def user_link(event, stub_url=None):
    """Where the user goes for a shown code (the QR's link): with the stub, the same path on this
    page's own origin (proxied to the stub); with a real tenant, the tenant's own page."""
    uri = event.get("verification_uri_complete") or event.get("verification_uri")
    if not uri:
        return None
    if stub_url is None:
        return uri if uri.startswith("https://") else None
    parts, stub = urlsplit(uri), urlsplit(stub_url)
    if (parts.scheme, parts.hostname, parts.port) != (stub.scheme, stub.hostname, stub.port):
        return None
    if not parts.path.startswith("/activate"):
        return None
    return parts.path + ("?" + parts.query if parts.query else "")


def parse_frames(buf):
    """Complete frames at the front of `buf` (a bytearray, consumed): [(w, h, depth, pixels)].
    The header is boards/unix.py's (lib/deviceflow/term_display.py). Raises ValueError on junk."""
    out = []
    while len(buf) >= 8:
        if buf[:2] != FRAME_MAGIC:
            raise ValueError("not a frame header")
        w, h, depth = buf[2] | buf[3] << 8, buf[4] | buf[5] << 8, buf[6]
        n = ((w + 7) >> 3) * h if depth == 1 else w * h * 2
        if len(buf) < 8 + n:
            break
        out.append((w, h, depth, bytes(buf[8:8 + n])))
        del buf[:8 + n]
    return out


def describe_request(r, since_last_poll=None):
    """One line of the stub's request log (tools/stub/server.py: _dispatch), no secrets in it.
    A device-code poll says how long after the previous one it came (slow_down makes it wait)."""
    grant = (r.get("grant_type") or "").rsplit(":", 1)[-1]
    status = r.get("status")
    line = "%s %s%s -> %s" % (r.get("method"), r.get("path"), " grant=" + grant if grant else "",
                              status if status is not None else "dropped")
    if r.get("error"):
        line += " " + str(r["error"])
    if r.get("forced"):
        line += " (forced: %s)" % r.get("fault")
    if since_last_poll is not None:
        line += "  [%.1f s after the last poll]" % since_last_poll
    return line


def describe_log_entry(e):
    """A line of the stub's tenant log (/_stub/logs), whatever its entries hold."""
    if isinstance(e, str):
        return e
    if isinstance(e, dict):
        if "method" in e and "path" in e:
            return describe_request(e)
        return " ".join("%s=%s" % (k, e[k]) for k in sorted(e) if k not in ("time", "date"))
    return json.dumps(e)


# ---- the hub: what the page is told ------------------------------------------------------------

class Hub:
    """Log lines, the latest frame and the state, each change numbered; pages wait on it."""

    def __init__(self):
        self.cond = threading.Condition()
        self.seq = 0
        self.logs = []            # [(seq, {"src", "text", "t"})]
        self.frame = (0, None)    # (seq, {"w", "h", "depth", "data"})
        self.state = (0, {})
        self.closed = False

    def _bump(self):
        self.seq += 1
        self.cond.notify_all()
        return self.seq

    def log(self, src, text):
        with self.cond:
            self.logs.append((self._bump(), {"src": src, "text": text, "t": time.time()}))
            del self.logs[:-LOG_KEEP]

    def set_frame(self, w, h, depth, pixels):
        with self.cond:
            self.frame = (self._bump(), {"w": w, "h": h, "depth": depth,
                                         "data": base64.b64encode(pixels).decode()})

    def update(self, **changes):
        with self.cond:
            state = dict(self.state[1], **changes)
            self.state = (self._bump(), state)

    def get(self, key, default=None):
        with self.cond:
            return self.state[1].get(key, default)

    def since(self, seen, timeout):
        """(new seq, [log entries], frame or None, state or None) after `seen`; waits for news."""
        with self.cond:
            self.cond.wait_for(lambda: self.seq > seen or self.closed, timeout)
            logs = [e for s, e in self.logs if s > seen]
            frame = self.frame[1] if self.frame[0] > seen else None
            state = self.state[1] if self.state[0] > seen else None
            return self.seq, logs, frame, state

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()


# ---- the device: the firmware on the Unix port -------------------------------------------------

class Firmware:
    """One firmware process at a time; its log goes to the hub, its frames too."""

    def __init__(self, hub, config_path, work_dir, stub_url=None):
        self.hub = hub
        self.config_path = config_path
        self.work_dir = work_dir
        self.stub_url = stub_url
        self.proc = None
        self.lock = threading.Lock()
        self.runs = 0

    def start(self, display):
        with self.lock:
            self._stop()
            self.runs += 1
            fifo = os.path.join(self.work_dir, "frames-%d.fifo" % self.runs)
            if os.path.exists(fifo):
                os.unlink(fifo)
            os.mkfifo(fifo, 0o600)
            # Read-write: the open never blocks and there is always a writer, so no EOF between
            # the firmware's frames; the reader thread ends on its stop flag.
            fd = os.open(fifo, os.O_RDWR)
            stop = threading.Event()
            env = dict(os.environ, MICROPYPATH=MP_PATH, DEVICEFLOW_DISPLAY=display,
                       DEVICEFLOW_FRAMES=fifo)
            proc = subprocess.Popen([MICROPYTHON, "firmware/main.py", "--config", self.config_path],
                                    cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            self.proc, self.stop_flag, self.fifo = proc, stop, fifo
            threading.Thread(target=self._read_frames, args=(fd, stop), daemon=True).start()
            threading.Thread(target=self._read_log, args=(proc,), daemon=True).start()
            threading.Thread(target=self._read_stderr, args=(proc,), daemon=True).start()
            self.hub.update(display=display, device_running=True, screen=None, user_code=None,
                            user_link=None)
            self.hub.log("playground", "device started (display %s)" % display)

    def _read_frames(self, fd, stop):
        buf = bytearray()
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.3)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
            try:
                frames = parse_frames(buf)
            except ValueError:
                self.hub.log("playground", "unreadable frame data; waiting for the next frame")
                buf = bytearray()
                continue
            if frames:
                self.hub.set_frame(*frames[-1])   # a page only needs the newest picture
        os.close(fd)

    def _read_log(self, proc):
        from device import parse_event

        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.hub.log("device", line)
            ev = parse_event(line)
            if not ev:
                continue
            if ev["event"] == "show_code":
                self.hub.update(user_code=ev.get("user_code"), user_link=user_link(ev, self.stub_url))
            elif ev["event"] == "screen":
                changes = {"screen": ev.get("kind")}
                if ev.get("kind") != "code":
                    changes["user_code"] = None
                self.hub.update(**changes)
        rc = proc.wait()
        if proc is self.proc:
            self.hub.update(device_running=False)
            self.hub.log("playground", "device stopped (exit code %s)" % rc)

    def _read_stderr(self, proc):
        # The terminal picture (half blocks in ANSI colours) comes here too: pass on only the
        # other lines (a crash's traceback).
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line and "\x1b[" not in line:
                self.hub.log("device", line)

    def press(self, name):
        with self.lock:
            proc = self.proc
            if proc is None or proc.poll() is not None:
                return False
            try:
                proc.stdin.write(name.encode() + b"\n")
                proc.stdin.flush()
            except OSError:
                return False
            return True

    def _stop(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for f in (proc.stdin,):
            try:
                f.close()
            except OSError:
                pass
        self.stop_flag.set()
        try:
            os.unlink(self.fifo)
        except OSError:
            pass

    def stop(self):
        with self.lock:
            self._stop()


# ---- the server side: the stub, its log and the faults -----------------------------------------

class StubSide:
    FAULTS = ("slow_down", "outage", "expire_code", "revoke", "impostor", "clear")

    def __init__(self, hub, stub):
        self.hub = hub
        self.stub = stub
        self.lock = threading.Lock()
        self.timer = None
        self.stop_flag = threading.Event()
        self.ssl = stub.ssl_context()

    def start_log(self):
        threading.Thread(target=self._poll_log, daemon=True).start()

    def _poll_log(self):
        use_logs = None   # the tenant log when the stub has one, else its request log
        shown, last_poll = 0, None
        while not self.stop_flag.wait(0.5):
            try:
                if use_logs is None:
                    status, data = self.stub._control("GET", "/_stub/logs")
                    use_logs = status == 200 and isinstance(data, list)
                    self.hub.update(server_log="tenant log" if use_logs else "request log")
                entries = self.stub._control("GET", "/_stub/logs" if use_logs else "/_stub/requests")[1]
            except (OSError, RuntimeError):   # no tenant log (404), or the stub is busy
                if use_logs is None:
                    use_logs = False
                    self.hub.update(server_log="request log")
                continue
            if not isinstance(entries, list):
                continue
            if len(entries) < shown:
                shown = 0   # the stub was reset, or trimmed its log
            for e in entries[shown:]:
                if use_logs:
                    self.hub.log("server", describe_log_entry(e))
                    continue
                gap = None
                if isinstance(e, dict) and e.get("grant_type") == DEVICE_GRANT:
                    if last_poll is not None and isinstance(e.get("time"), (int, float)):
                        gap = e["time"] - last_poll
                    last_poll = e.get("time")
                self.hub.log("server", describe_request(e, gap))
            shown = len(entries)

    def inject(self, kind, seconds=10):
        """One fault; returns a sentence for the log. Network faults end by themselves."""
        with self.lock:
            if kind == "slow_down":
                self.stub.configure(force={"status": 429, "content_type": "application/json",
                                           "body": '{"error":"slow_down","error_description":'
                                                   '"You are polling faster than allowed."}',
                                           "count": 1, "paths": ["/oauth/token"]})
                return "the next token request is answered slow_down (429)"
            if kind == "expire_code":
                n = self.stub._control("POST", "/_stub/expire_codes")[1]["expired"]
                return "%d pending code(s) expired now" % n
            if kind == "revoke":
                n = self.stub.reset_grants()
                # Revoking does not end access tokens already issued (as on Auth0); the next API
                # call is refused as if the access token had expired, so the device refreshes now.
                self.stub.configure(force={"status": 401, "content_type": "application/json",
                                           "body": '{"error":"invalid_token"}', "count": 1,
                                           "paths": ["/api/"],
                                           "headers": {"WWW-Authenticate": 'Bearer error="invalid_token"'}})
                return "%d grant(s) revoked; the next API call gets 401" % n
            if kind in ("outage", "impostor"):
                seconds = max(1, min(600, int(seconds)))
                self._cancel_timer()
                self._listen(False)
                if kind == "impostor":
                    self._listen(True, "untrusted")
                self.timer = threading.Timer(seconds, self._restore)
                self.timer.daemon = True
                self.timer.start()
                self.hub.update(fault=kind, fault_until=time.time() + seconds)
                if kind == "outage":
                    return "server down for %d s (connections refused)" % seconds
                return "an impostor's certificate on the server's address for %d s" % seconds
            if kind == "clear":
                self._cancel_timer()
                self._restore_locked()
                self.stub.configure(force=None)
                return "faults cleared"
        raise ValueError("unknown fault " + kind)

    def _listen(self, up, leaf=None):
        body = {"up": up}
        if leaf:
            body["leaf"] = leaf
        self.stub._control("POST", "/_stub/listen", body)

    def _cancel_timer(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _restore(self):
        with self.lock:
            self.timer = None
            self._restore_locked()
        self.hub.log("playground", "fault over: the real server is back")

    def _restore_locked(self):
        if self.hub.get("fault"):
            self._listen(False)
            self._listen(True)
        self.hub.update(fault=None, fault_until=None)

    def proxy(self, method, path, body, content_type):
        """The user's browser to the stub's activation page (the stub's TLS verified with its CA)."""
        conn = http.client.HTTPSConnection(self.stub.host, self.stub.port, timeout=15,
                                           context=self.ssl) if self.stub.tls else \
            http.client.HTTPConnection(self.stub.host, self.stub.port, timeout=15)
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type") or "text/html", r.read()
        finally:
            conn.close()

    def stop(self):
        self.stop_flag.set()
        self._cancel_timer()


# ---- the page ----------------------------------------------------------------------------------

class Playground:
    def __init__(self, hub, firmware, stub_side, displays, tenant):
        self.hub = hub
        self.firmware = firmware
        self.stub_side = stub_side
        self.displays = displays
        self.tenant = tenant


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "deviceflow-playground/1.0"

    def log_message(self, fmt, *args):
        pass

    @property
    def pg(self):
        return self.server.playground

    def _host_ok(self):
        # Only pages served from here may drive it (no DNS-rebinding through another name).
        port = self.server.server_address[1]
        return self.headers.get("Host") in ("127.0.0.1:%d" % port, "localhost:%d" % port)

    def _send(self, status, ctype, body, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, obj):
        self._send(status, "application/json", json.dumps(obj).encode())

    def do_GET(self):
        if not self._host_ok():
            return self._send(403, "text/plain", b"wrong Host")
        path = urlsplit(self.path).path
        if path == "/":
            path = "/index.html"
        if path == "/events":
            return self._events()
        if path == "/api/info":
            return self._json(200, {"displays": self.pg.displays, "tenant": self.pg.tenant,
                                    "faults": [] if self.pg.tenant else list(StubSide.FAULTS)})
        if path.startswith("/activate") and self.pg.stub_side:
            return self._proxy("GET", None, None)
        name = path.lstrip("/")
        ext = os.path.splitext(name)[1]
        if "/" not in name and ext in STATIC_TYPES and os.path.isfile(os.path.join(STATIC, name)):
            with open(os.path.join(STATIC, name), "rb") as f:
                return self._send(200, STATIC_TYPES[ext], f.read())
        self._send(404, "text/plain", b"not found")

    def do_POST(self):
        if not self._host_ok():
            return self._send(403, "text/plain", b"wrong Host")
        path = urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        if n > 65536:
            return self._send(413, "text/plain", b"too large")
        body = self.rfile.read(n) if n else b""
        ctype = self.headers.get("Content-Type") or ""
        if path.startswith("/activate") and self.pg.stub_side:
            return self._proxy("POST", body, ctype)
        if not ctype.startswith("application/json"):   # a page elsewhere cannot send JSON here
            return self._json(415, {"error": "JSON only"})
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self._json(400, {"error": "bad JSON"})
        if path == "/api/button" and req.get("name") in ("new_code", "sign_out"):
            ok = self.pg.firmware.press(req["name"])
            self.pg.hub.log("playground", "button %s pressed" % req["name"])
            return self._json(200 if ok else 409, {"ok": ok})
        if path == "/api/display" and req.get("name") in self.pg.displays:
            self.pg.firmware.start(req["name"])
            return self._json(200, {"ok": True})
        if path == "/api/reboot":
            self.pg.firmware.start(self.pg.hub.get("display") or DEFAULT_DISPLAY)
            return self._json(200, {"ok": True})
        if path == "/api/fault" and self.pg.stub_side and req.get("kind") in StubSide.FAULTS:
            try:
                said = self.pg.stub_side.inject(req["kind"], req.get("seconds") or 10)
            except (OSError, RuntimeError, ValueError) as e:
                return self._json(500, {"error": str(e)})
            self.pg.hub.log("playground", "fault %s: %s" % (req["kind"], said))
            return self._json(200, {"ok": True, "said": said})
        self._json(404, {"error": "no such action"})

    def _proxy(self, method, body, ctype):
        try:
            status, rtype, data = self.pg.stub_side.proxy(method, self.path, body, ctype)
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            msg = ("<!DOCTYPE html><title>Unreachable</title><body style='font-family:sans-serif'>"
                   "<h1>This site can't be reached</h1><p>%s</p></body>"
                   % type(e).__name__).encode()
            return self._send(502, "text/html; charset=utf-8", msg)
        self._send(status, rtype, data)

    def _events(self):
        """Server-Sent Events: state, newest frame and log lines as they come."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        hub, seen = self.pg.hub, 0
        try:
            while not hub.closed:
                seen, logs, frame, state = hub.since(seen, 15)
                out = []
                if state is not None:
                    out.append("event: state\ndata: %s\n\n" % json.dumps(state))
                if frame is not None:
                    out.append("event: frame\ndata: %s\n\n" % json.dumps(frame))
                if logs:
                    out.append("event: log\ndata: %s\n\n" % json.dumps(logs))
                self.wfile.write(("".join(out) or ": keep-alive\n\n").encode())
                self.wfile.flush()
        except OSError:
            pass   # the page went away


class PageServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(playground, port):
    server = PageServer(("127.0.0.1", port), Handler)
    server.playground = playground
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def has_display():
    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="your own config.json (a real tenant) instead of the stub")
    ap.add_argument("--port", type=int, default=0, help="the page's port (0: a free one)")
    ap.add_argument("--display", default=os.environ.get("DEVICEFLOW_DISPLAY") or DEFAULT_DISPLAY,
                    help="display class to start with (boards/unix.py SIZES)")
    ap.add_argument("--work-dir", default=os.path.join(ROOT, "var", "playground"),
                    help="state of this playground's stub and device (wiped at start)")
    ap.add_argument("--no-browser", action="store_true", help="only print the URL")
    a = ap.parse_args(argv)

    displays = display_classes()
    if a.display not in displays:
        ap.error("unknown display class %s; known: %s" % (a.display, ", ".join(sorted(displays))))
    work = os.path.abspath(a.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "state"))
    config_path = os.path.join(work, "config.json")
    hub = Hub()
    stub = stub_side = None
    if a.config:
        try:
            cfg = read_tenant_config(a.config, os.path.join(work, "state"))
        except ValueError as e:
            sys.exit("playground: %s" % e)
    else:
        from stubctl import start_stub

        stub = start_stub(os.path.join(work, "stub"), tls=True, **STUB_SETTINGS)
        cfg = stub_device_config(stub, os.path.join(work, "state"))
        stub_side = StubSide(hub, stub)
        # For tests that check no secret ever reaches the page: where the stub's control port is.
        with open(os.path.join(work, "stub.json"), "w") as f:
            json.dump({"url": stub.url, "control": stub.control_url}, f)
    with open(config_path, "w") as f:
        json.dump(cfg, f, indent=2)
    hub.update(tenant=bool(a.config), issuer=cfg["issuer"], fault=None, server_log=None)
    firmware = Firmware(hub, config_path, work, stub.url if stub else None)
    server = None

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        if stub_side:
            stub_side.start_log()
        firmware.start(a.display)
        server = serve(Playground(hub, firmware, stub_side, displays, bool(a.config)), a.port)
        url = "http://127.0.0.1:%d/" % server.server_address[1]
        print("Playground: %s  (Ctrl-C stops it)" % url, flush=True)
        if not a.no_browser and has_display():
            import webbrowser

            webbrowser.open(url)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        hub.close()
        if server is not None:
            server.shutdown()
            server.server_close()
        firmware.stop()
        if stub_side:
            stub_side.stop()
        if stub:
            stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
