"""A scriptable HTTP/1.1 (optionally HTTPS) peer on 127.0.0.1 for the transport tests (CPython).

    peer = Peer(certfile, keyfile).start()          # or Peer() for plain http
    peer.script += [reply(200, b"hi", framing="chunked"), NEVER]
    ... client requests https://localhost:<peer.port>/...
    peer.connections, peer.requests, peer.close_idle(), peer.stop()

Each request takes the next scripted action (the default reply when the script is empty).
Every accepted TCP connection is counted and served in its own thread with keep-alive.
"""
import socket
import ssl
import struct
import threading
import time


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body = headers, body  # headers: lowercase name -> value


def reply(status=200, body=b"ok", headers=None, framing="length", close=False, stall_after=None,
          interim=False, chunk=7):
    """A response. framing: 'length' (Content-Length), 'chunked', or 'close' (body ends at
    close). close: send Connection: close and hang up. stall_after: send only that many bytes
    of the response, then hold the connection silent. interim: a 100 Continue first.
    chunk: the chunk size for 'chunked' (small by default, to cross every boundary)."""
    return {"kind": "reply", "status": status, "body": body, "headers": headers or {},
            "framing": framing, "close": close, "stall_after": stall_after, "interim": interim,
            "chunk": chunk}


def raw(data, close=True):
    """Send these exact bytes (then hang up unless close=False)."""
    return {"kind": "raw", "data": data, "close": close}


NEVER = {"kind": "never"}  # read the request, never answer
RESET = {"kind": "reset"}  # read the request, answer with a TCP reset
HANGUP = {"kind": "hangup"}  # read the request, close without answering


def _chunked(body, step):
    out = b""
    for i in range(0, len(body), step):
        part = body[i:i + step]
        ext = b";note=1" if i == 0 else b""
        out += b"%x%s\r\n%s\r\n" % (len(part), ext, part)
    return out + b"0\r\nX-Trailer: done\r\n\r\n"


def render(action):
    status, body = action["status"], action["body"]
    head = [b"HTTP/1.1 %d Status" % status]
    if action["interim"]:
        head = [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 %d Status" % status]
    for k, v in action["headers"].items():
        head.append(("%s: %s" % (k, v)).encode())
    if action["framing"] == "length":
        head.append(b"Content-Length: %d" % len(body))
    elif action["framing"] == "chunked":
        head.append(b"Transfer-Encoding: chunked")
        body = _chunked(body, action["chunk"])
    if action["close"] or action["framing"] == "close":
        head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class Peer:
    def __init__(self, certfile=None, keyfile=None, default=None):
        self.ctx = None
        if certfile:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(certfile, keyfile)
        self.default = default or reply()
        self.script = []
        self.requests = []
        self.connections = 0
        self.handshake_failures = 0
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = {}  # socket -> thread, for connections waiting for their next request
        self._threads = []
        self._stopping = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]

    def url(self, path="/", host="localhost"):
        return "%s://%s:%d%s" % ("https" if self.ctx else "http", host, self.port, path)

    def start(self):
        self._listener.listen(16)
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        return self

    def _accept(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._busy += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _next_action(self):
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _serve(self, raw_sock):
        sock = raw_sock
        busy = True
        try:
            if self.ctx:
                sock = self.ctx.wrap_socket(raw_sock, server_side=True)
            rfile = sock.makefile("rb")
            served = 0
            while True:
                if served:
                    with self._lock:
                        self._idle[sock] = threading.current_thread()
                        self._busy -= 1
                        busy = False
                line = rfile.readline(8192)
                with self._lock:
                    self._idle.pop(sock, None)
                    if not busy:
                        self._busy += 1
                        busy = True
                if not line:
                    return
                req = self._read_request(line, rfile)
                self.requests.append(req)
                served += 1
                if not self._act(self._next_action(), sock):
                    return
        except (OSError, ValueError):
            if self.ctx and sock is raw_sock:
                self.handshake_failures += 1
        finally:
            with self._lock:
                self._idle.pop(sock, None)
                if busy:
                    self._busy -= 1
            try:
                sock.close()
            except OSError:
                pass

    @staticmethod
    def _read_request(line, rfile):
        method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        headers = {}
        while True:
            h = rfile.readline(8192).decode("latin-1").rstrip("\r\n")
            if not h:
                break
            name, _, value = h.partition(":")
            headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", "0"))
        body = rfile.read(n) if n else b""
        return Request(method, target, version, headers, body)

    def _act(self, action, sock):
        """Carry one action out; False when the connection is finished."""
        kind = action["kind"]
        if kind == "never":
            self._stopping.wait()
            return False
        if kind == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False  # closed with linger 0 by _serve: a TCP reset
        if kind == "hangup":
            return False
        if kind == "raw":
            sock.sendall(action["data"])
            return not action["close"]
        data = render(action)
        if action["stall_after"] is not None:
            sock.sendall(data[:action["stall_after"]])
            self._stopping.wait()
            return False
        sock.sendall(data)
        return not (action["close"] or action["framing"] == "close")

    def close_idle(self, wait=5.0):
        """Hang up every kept-alive connection, the way a server drops idle clients.
        Waits until no connection is mid-request first, then until the closes are done."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._lock:
                if self._busy == 0:
                    break
            time.sleep(0.01)
        with self._lock:
            idle = list(self._idle.items())
        for sock, _ in idle:
            try:  # the plain TCP shutdown (no TLS close_notify): a FIN, as a dropped client sees it
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
        for _, t in idle:
            t.join(wait)
        return len(idle)

    def stop(self):
        self._stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            idle = list(self._idle)
        for sock in idle:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
