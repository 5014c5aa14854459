"""HTTP side of the stub: HTTP/1.1 with keep-alive, optional TLS, and the routes.

Every reply carries Content-Length so clients can reuse the connection. Each accepted TCP
connection gets an id (in the request log and /_stub/stats), so benchmarks can prove keep-alive.
The stderr log has one line per request and never contains a token or device code.
"""
import io
import json
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt

from . import pages, providers

MAX_BODY = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def log(line):
    sys.stderr.write("stub: " + line + "\n")
    sys.stderr.flush()


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, authority, ssl_context=None, control=False):
        super().__init__(address, Handler)
        self.authority = authority
        self.ssl_context = ssl_context
        self.control = control   # the plain-HTTP control port: /_stub/* only, not counted
        self.open_sockets = set()   # accepted TCP sockets still in use, for cut_connections()
        self.sockets_lock = threading.Lock()

    def track(self, sock, open_):
        with self.sockets_lock:
            (self.open_sockets.add if open_ else self.open_sockets.discard)(sock)

    def cut_connections(self):
        """Shut every accepted connection down (peers see EOF or a reset)."""
        with self.sockets_lock:
            socks = list(self.open_sockets)
        for sock in socks:
            try:   # the plain socket call, under TLS too: a TCP shutdown, no TLS close_notify
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


class Listener:
    """The main port, which tests can take down and bring back on the same port number.

    down(): the listening socket is closed (new connections are refused) and every open
    connection is cut, as when a server or its network goes away. up(): listen again on the
    very same port, with the same authority (codes and grants survive) and TLS leaf, or with
    another leaf (an impostor on the real server's address)."""

    def __init__(self, server, context_for=None):
        self.server = server
        self.address = server.server_address
        self.authority = server.authority
        self.ssl_context = server.ssl_context
        self.context_for = context_for   # leaf name -> server SSLContext (TLS only)
        self.lock = threading.Lock()

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def is_up(self):
        return self.server is not None

    def down(self):
        with self.lock:
            srv, self.server = self.server, None
            if srv is None:
                return
            srv.shutdown()
            srv.server_close()
            srv.cut_connections()
        log("listener down: port %d refuses connections" % self.address[1])

    def up(self, leaf=None):
        with self.lock:
            if self.server is not None:
                return
            ctx = self.ssl_context
            if leaf and ctx is not None and self.context_for is not None:
                ctx = self.context_for(leaf)
            self.server = StubServer(self.address, self.authority, ctx)
            self.start()
        log("listener up again on port %d%s" % (self.address[1], " with leaf " + leaf if leaf else ""))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body leave at once: no 40 ms delayed-ACK stall per reply
    server_version = "deviceflow-stub/1.0"
    timeout = 120   # idle keep-alive connections are closed after this many seconds

    # ---- connection: count it, do the TLS handshake in this connection's thread -------------

    def setup(self):
        a = self.server.authority
        self.conn_id = 0 if self.server.control else a.new_connection()
        self.tls_failed = False
        self.raw_socket = self.request
        self.server.track(self.raw_socket, True)
        ctx = self.server.ssl_context
        if ctx is not None:
            self.request.settimeout(15)
            try:
                self.request = ctx.wrap_socket(self.request, server_side=True)
                self.server.track(self.raw_socket, False)   # wrap_socket took over its fd
                self.raw_socket = self.request
                self.server.track(self.raw_socket, True)
                a.count("tls_handshakes")
            except (ssl.SSLError, OSError) as e:
                a.count("tls_failures")
                self.tls_failed = True
                log("conn=%d tls handshake failed: %s" % (self.conn_id, getattr(e, "reason", e)))
                return   # wrap_socket already closed it; nothing to read or write
        super().setup()

    def handle(self):
        if not self.tls_failed:
            super().handle()

    def finish(self):
        self.server.track(self.raw_socket, False)
        if self.tls_failed:
            return
        try:
            super().finish()
        except OSError:
            pass   # the peer went away (or a forced reset closed the socket)
        finally:
            if self.server.ssl_context is not None:
                self.request.close()

    def log_message(self, fmt, *args):
        pass   # our own line per request is written in _dispatch

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    # ---- one request --------------------------------------------------------------------------

    def _dispatch(self, method):
        a = self.server.authority
        url = urlsplit(self.path)
        path = url.path
        fields = self._read_form()
        entry = {"method": method, "path": path, "query": url.query,
                 "fields": sorted(fields) if isinstance(fields, dict) else [],
                 "grant_type": str(fields.get("grant_type") or "") if isinstance(fields, dict) else "",
                 "conn": self.conn_id, "time": time.time()}
        control = self.server.control or path.startswith("/_stub/")
        fault = None if control else a.take_fault(path)
        if self.server.control and not path.startswith("/_stub/"):
            reply = json_reply(404, {"error": "not_found", "error_description": "Control port."})
        elif fault:
            reply = self._fault(fault)
        elif fields is None:
            reply = json_reply(400, {"error": "invalid_request",
                                     "error_description": "Unreadable request body."})
        else:
            try:
                reply = self._route(method, path, url.query, fields)
            except Exception as e:   # a malformed request must not kill the connection silently
                log("conn=%s %s %s raised %s" % (self.conn_id, method, path, type(e).__name__))
                reply = json_reply(500, {"error": "server_error",
                                         "error_description": "The stub could not handle this."})
        if reply is None:   # forced drop: close without an answer
            self.close_connection = True
            status, error = None, "dropped"
        else:
            status, headers, body = reply
            try:
                if fault and any(_on(fault, k) for k in RAW_FAULTS):
                    self._send_broken(status, headers, body, fault)
                else:
                    self._send(status, headers, body)
            except OSError:   # the client gave up (timeout, body too large): not our problem
                self.close_connection = True
                log("conn=%s %s %s: client went away while we answered" % (self.conn_id, method, path))
            error = _error_of(headers, body)   # GitHub mode says errors with a 200
        if not control:
            entry.update(status=status, error=error, forced=bool(fault),
                         fault=_fault_kind(fault) if fault else None)
            a.record(entry)
        grant = entry["grant_type"]
        log("conn=%s %s %s%s -> %s%s%s" % (
            self.conn_id or "ctl", method, path,
            " grant=" + str(grant).rsplit(":", 1)[-1] if grant else "",
            status, " " + error if error else "", " (forced)" if fault else ""))

    def _read_form(self):
        """The body as a dict (form or JSON); {} when there is none; None when unreadable."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return None
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            return None
        raw = self.rfile.read(n) if n else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if ctype == "application/x-www-form-urlencoded":
                return {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
            if ctype == "application/json" and raw:
                data = json.loads(raw)
                return data if isinstance(data, dict) else None
        except (UnicodeDecodeError, ValueError):
            return None
        return {}   # no body, or a type Auth0 would not parse: the parameters are missing

    def _fault(self, f):
        if f.get("delay"):
            time.sleep(float(f["delay"]))
        if f.get("drop"):
            return None
        body = f.get("body", "")
        body = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode()
        if f.get("body_size"):   # a body this many bytes long: `body` repeated, else spaces
            n = int(f["body_size"])
            unit = body or b" "
            body = (unit * (n // len(unit) + 1))[:n]
        headers = {"Content-Type": f.get("content_type", "text/html; charset=utf-8")}
        headers.update(f.get("headers") or {})
        return int(f.get("status", 503)), headers, body

    def _send_broken(self, status, headers, body, f):
        """A reply that goes wrong on the wire (see RAW_FAULTS); the connection is not reused.

        The head announces the whole body (unless no_length), then: `cut` N sends only the first
        N body bytes and closes; `reset` then aborts the connection with a TCP RST; `drip` S
        sends the reply one byte every S seconds; `no_length` sends no Content-Length and ends
        the body by closing."""
        self.close_connection = True
        reason = self.responses.get(status, ("Error",))[0]
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        lines += ["%s: %s" % kv for kv in headers.items()]
        if not f.get("no_length"):
            lines.append("Content-Length: %d" % len(body))
        lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        data = head + (body if f.get("cut") is None else body[:int(f["cut"])])
        drip = float(f.get("drip") or 0)
        if drip:
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                time.sleep(drip)
        else:
            self.wfile.write(data)
        self.wfile.flush()
        if f.get("reset"):
            time.sleep(0.2)   # let the partial answer reach the client before the RST
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.wfile.close()   # the file objects hold the socket open: let go of them first,
            self.rfile.close()   # so close() really closes now (RST), before any FIN is sent
            self.request.close()
            self.wfile, self.rfile = io.BytesIO(), io.BytesIO()   # for the handler's last flush

    def _send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _bearer(self):
        h = self.headers.get("Authorization") or ""
        return h[7:].strip() if h[:7].lower() == "bearer " else None

    # ---- routes -------------------------------------------------------------------------------

    def _route(self, method, path, query, form):
        a = self.server.authority
        base = a.base_url
        if path.startswith("/api/") and method in ("GET", "POST"):
            return self._api(path, form if method == "POST" else None)
        key = (method, path)
        if key == ("POST", "/oauth/device/code"):
            return self._oauth(a.device_code, providers.kind_of(path, form), form)
        if key == ("POST", "/oauth/token"):
            return self._oauth(a.token, providers.kind_of(path, form), form, NO_STORE)
        if key == ("POST", "/oauth/revoke"):
            a.revoke(form)
            return 200, {"Content-Type": "application/json"}, b""
        if key == ("GET", "/userinfo"):
            claims, reply = self._check_bearer(None)
            if reply:
                return reply
            return json_reply(200, a.userinfo(claims["sub"]))
        if key == ("GET", "/.well-known/openid-configuration") and a.config()["discovery"] in ("openid", "both"):
            return json_reply(200, discovery(base, a.issuer))
        if key == ("GET", "/.well-known/oauth-authorization-server") and a.config()["discovery"] in ("oauth", "both"):
            return json_reply(200, discovery(base, a.issuer))  # RFC 8414: the same keys
        if key == ("GET", "/.well-known/jwks.json"):
            return json_reply(200, a.keys.jwks)
        if key == ("GET", "/"):
            return html_reply(200, pages.index(base))
        if path.startswith("/activate"):
            return self._activation(method, path, query, form)
        if path.startswith("/_stub/"):
            return self._control(method, path, form)
        return json_reply(404, {"error": "not_found", "error_description": "No route."})

    def _oauth(self, handler, kind, form, headers=None):
        """An OAuth endpoint's reply in the provider mode's shape (tools/stub/providers.py)."""
        a = self.server.authority
        settings = a.config()
        early = providers.refuse(settings, kind, form)
        if early and kind == "device" and settings.get("quota_exceeded"):
            a.configure({"quota_exceeded": settings["quota_exceeded"] - 1})
        if early and kind == "device":
            a.tenant_log_locked("fdeaz", form.get("client_id"), "Too many requests")
        status, body = early or handler(form)
        return providers.reply(settings, kind, status, body, self.headers, headers)

    def _check_bearer(self, audience):
        """(claims, None) for a valid access token, else (None, a 401 reply)."""
        a = self.server.authority
        token = self._bearer()
        try:
            if not token:
                raise jwt.InvalidTokenError("missing bearer token")
            claims = a.check_bearer(token, audience)
            return claims, None
        except jwt.InvalidTokenError as e:
            desc = "Missing bearer token." if not token else "Invalid token: " + type(e).__name__
            return None, json_reply(401, {"error": "invalid_token", "error_description": desc},
                                    {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def _api(self, path, posted=None):
        claims, reply = self._check_bearer(self.server.authority.config()["audience"])
        if reply:
            return reply
        answer = {"message": "Hello from the protected API", "sub": claims["sub"], "path": path}
        if posted is not None:  # a sensor's reading: say which fields arrived
            answer["received"] = sorted(posted)
        return json_reply(200, answer)

    def _activation(self, method, path, query, form):
        a = self.server.authority
        if (method, path) == ("GET", "/activate"):
            prefill = parse_qs(query).get("user_code", [""])[0]
            return html_reply(200, pages.enter_code(prefill))
        code = form.get("user_code", "")
        if (method, path) == ("POST", "/activate"):
            rec = a.pending_code(code)
            if rec is None:
                return html_reply(400, pages.enter_code(code, "Invalid or expired code."))
            return html_reply(200, pages.confirm(rec["user_code"], a.config()["user"]))
        if (method, path) == ("POST", "/activate/confirm"):
            approve = form.get("action") == "approve"
            if not a.decide(code, approve):
                return html_reply(400, pages.enter_code(code, "Invalid or expired code."))
            return html_reply(200, pages.done(approve))
        return html_reply(404, pages.enter_code("", "No such page."))

    def _control(self, method, path, form):
        a = self.server.authority
        if (method, path) == ("GET", "/_stub/secrets"):
            if not self.server.control:   # never served where the device (or anyone) talks
                return json_reply(404, {"error": "not_found", "error_description": "Control port only."})
            return json_reply(200, a.secrets())
        if (method, path) == ("POST", "/_stub/listen"):   # {"up": false} refuse, {"up": true} back
            listener = getattr(a, "listener", None)   # {"up": true, "leaf": "untrusted"}: impostor
            if listener is None:
                return json_reply(404, {"error": "not_found", "error_description": "No listener."})
            listener.up(form.get("leaf")) if form.get("up") else listener.down()
            return json_reply(200, {"up": listener.is_up()})
        if (method, path) == ("GET", "/_stub/listen"):
            listener = getattr(a, "listener", None)
            return json_reply(200, {"up": bool(listener and listener.is_up())})
        if (method, path) == ("GET", "/_stub/config"):
            return json_reply(200, a.config())
        if (method, path) == ("POST", "/_stub/config"):
            try:
                return json_reply(200, a.configure(form))
            except KeyError as e:
                return json_reply(400, {"error": "unknown_setting", "error_description": str(e)})
        if (method, path) == ("GET", "/_stub/requests"):
            return json_reply(200, a.requests())
        if (method, path) == ("GET", "/_stub/logs"):   # Auth0 tenant log events (fdeaz ... sede)
            return json_reply(200, a.tenant_log_events())
        if (method, path) == ("GET", "/_stub/stats"):
            return json_reply(200, a.get_stats())
        if (method, path) == ("POST", "/_stub/reset"):
            a.reset()
            return json_reply(200, {"ok": True})
        if (method, path) == ("POST", "/_stub/revoke_grants"):
            return json_reply(200, {"revoked": a.revoke_all()})
        if (method, path) == ("POST", "/_stub/expire_codes"):   # pending codes run out now
            return json_reply(200, {"expired": a.expire_codes()})
        if (method, path) == ("POST", "/_stub/decide"):   # {"user_code": ..., "approve": bool}
            ok = a.decide(form.get("user_code", ""), bool(form.get("approve")))
            return json_reply(200 if ok else 404, {"ok": ok})
        return json_reply(404, {"error": "not_found", "error_description": "No route."})


RAW_FAULTS = ("cut", "reset", "drip", "no_length")


def _on(f, key):
    return f.get(key) is not None and f.get(key) is not False


def _fault_kind(f):
    for k in ("drop", "reset", "cut", "drip", "no_length", "body_size", "delay"):
        if _on(f, k):
            return k
    return "status"


def json_reply(status, obj, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return status, h, json.dumps(obj).encode("utf-8")


def html_reply(status, body):
    return status, {"Content-Type": "text/html; charset=utf-8"}, body


def _error_of(headers, body):
    ctype = headers.get("Content-Type", "")
    try:
        if ctype.startswith("application/json") and body:
            return json.loads(body).get("error")
        if ctype.startswith("application/x-www-form-urlencoded") and body:
            return parse_qs(body.decode("utf-8")).get("error", [None])[0]
    except (ValueError, AttributeError, RecursionError):   # forced bodies can be anything
        return None
    return None


def discovery(base, issuer):
    return {
        "issuer": issuer,
        "device_authorization_endpoint": base + "/oauth/device/code",
        "token_endpoint": base + "/oauth/token",
        "userinfo_endpoint": base + "/userinfo",
        "jwks_uri": base + "/.well-known/jwks.json",
        "revocation_endpoint": base + "/oauth/revoke",
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        "response_types_supported": ["token", "id_token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "name", "email"],
    }
