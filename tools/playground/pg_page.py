"""The playground's page: what it is told (the hub: log lines, the newest frame, the state) and
the HTTP server that serves it on 127.0.0.1 (static files, Server-Sent Events, its actions)."""
import base64
import collections
import http.client
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from pg_device import DEFAULT_DISPLAY
from pg_server import StubSide

STATIC = os.path.dirname(os.path.abspath(__file__))
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8"}
LOG_KEEP = 2000          # lines kept for a page that connects late


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


# What the page's handlers drive; tenant: True with a real tenant (CONFIG=...), False with the stub.
Playground = collections.namedtuple("Playground", "hub firmware stub_side displays tenant")


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
