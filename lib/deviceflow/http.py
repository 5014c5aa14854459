# Verified HTTP/1.1 client for MicroPython (socket + tls) and CPython (socket + ssl).
#
#   t = Transport(ca_file="ca.pem")
#   r = t.request("POST", "https://tenant.auth0.com/oauth/token",
#                 {"Content-Type": "application/x-www-form-urlencoded"}, b"grant_type=...")
#   r.status, r.headers["content-type"], r.body
#
# Certificates and host names are always verified (no CA -> TLSError, never CERT_NONE).
# One connection at a time, kept alive per scheme/host/port (an ESP32 affords one TLS
# session, and a handshake costs seconds there). Reads go through one preallocated
# buffer; bodies are capped at max_body, the head at max_header bytes and MAX_HEADERS
# lines, and nothing past a cap is buffered. Exception details name the host at most, never a path, header
# value or body, so no token can leak through an error.
#
# deviceflow.tlsconf loads the CAs, makes the verifying context and maps failures to errors.
# It is imported only when a context is made or a failure mapped, and dropped again: once the
# context exists, a board's heap need not hold its code (deviceflow/phase.py).
import sys
import socket
import errno
import time

try:
    import select
except ImportError:  # MicroPython ports without select: blocking reads only
    select = None

from deviceflow.errors import TransportError

_ticks = getattr(time, "ticks_ms", None)  # MicroPython; CPython uses time.monotonic


def _ms_since(t):
    """Milliseconds since t (t = None: the current reading, to start a deadline)."""
    now = _ticks() if _ticks else int(time.monotonic() * 1000)
    if t is None:
        return now
    return time.ticks_diff(now, t) if _ticks else now - t
from deviceflow.url import parse_url, is_loopback, host_header
from deviceflow.phase import drop

MICROPYTHON = sys.implementation.name == "micropython"


def network_error(e, what):
    from deviceflow.tlsconf import network_error as mapped

    return mapped(e, what)


def tls_error(e, host):
    from deviceflow.tlsconf import tls_error as mapped

    return mapped(e, host)


BUFFER_SIZE = 1024  # the read buffer; also the longest status line accepted
MAX_HEADERS = 64  # header lines per response (interim heads included): each costs a dict entry
SMALL_BODY = 2048  # request bodies up to this size go out with the head in one write
_OWN_HEADERS = ("host", "content-length", "transfer-encoding", "connection")


def _ascii_digits(s):
    """True for a non-empty str or bytes of ASCII 0-9 only."""
    if not s:
        return False
    for c in s:
        if c not in b"0123456789" if isinstance(c, int) else c not in "0123456789":
            return False
    return True


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lowercase names; repeated headers joined with ", "
        self.body = body  # bytes, or a bytearray (a Content-Length body: read in place, not copied)

    def __repr__(self):  # never shows the body: it may hold tokens
        return "<Response %d, %d bytes>" % (self.status, len(self.body))


class _Retry(Exception):
    """The connection ended before any byte of the answer (EOF, or the TransportError
    in args[0]): on a reused connection that means the server had closed it idle."""


class Transport:
    def __init__(self, ca_file=None, cadata=None, allow_insecure_http=False,
                 timeout_ms=10000, max_body=16384, user_agent="deviceflow/0.1", max_header=8192):
        self.ca_file = ca_file
        self.cadata = cadata
        self.allow_insecure_http = allow_insecure_http
        self.timeout_ms = timeout_ms
        self.max_body = max_body
        self.max_header = max_header
        self.user_agent = user_agent
        self.handshakes = 0  # TLS handshakes done so far
        self.connections = 0  # TCP connections opened so far
        self._ctx = None
        self._sink = None
        self._sock = self._raw = self._key = None
        self._buf = bytearray(BUFFER_SIZE)
        self._mv = memoryview(self._buf)
        self._start = self._end = self._got = 0
        self._began = _ms_since(None)

    # -- public -------------------------------------------------------------------
    def request(self, method, url, headers=None, body=None, sink=None):
        """Send one request and return its Response; raise TransportError or TLSError.
        sink: a writable stream that gets the response body instead of Response.body."""
        scheme, host, port, target = parse_url(url)
        if scheme == "http" and not self.allow_insecure_http and not is_loopback(host):
            raise TransportError("insecure_url", "plain http is allowed only to this machine, not " + host)
        if isinstance(body, str):
            body = body.encode()
        elif body is not None and not isinstance(body, (bytes, bytearray, memoryview)):
            raise TransportError("bad_request", "request body must be bytes")
        head = self._head(method, scheme, host, port, target, headers, body)
        key = (scheme, host, port)
        if self._sock is not None and self._key != key:
            self.close()
        reused = self._sock is not None
        # One deadline for the whole exchange (connect, handshake, send, every read): a server
        # that drips a byte a second must not hold the app, its screen and watchdog hostage.
        self._began = _ms_since(None)
        self._sink = sink
        try:
            if not reused:
                self._connect(key)
            try:
                return self._exchange(method, head, body, reused)
            except _Retry:
                self.close()
                self._connect(key)
                return self._exchange(method, head, body, False)
        except BaseException:
            self.close()
            raise

    def close(self):
        """Drop the kept-alive connection, if any."""
        for s in (self._sock, self._raw):
            if s is not None:
                try:
                    s.close()
                except Exception:
                    pass
        self._sock = self._raw = self._key = None

    # -- connection -----------------------------------------------------------------
    def _tls_context(self):
        if self._ctx is None:
            from deviceflow.tlsconf import client_context

            self._ctx = client_context(self.ca_file, self.cadata)
            del client_context
            drop("deviceflow.tlsconf")
        return self._ctx

    def _connect(self, key):
        scheme, host, port = key
        ctx = self._tls_context() if scheme == "https" else None
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except OSError:
            infos = None
        if not infos:
            raise TransportError("dns", "cannot resolve " + host)
        err = sock = None
        for ai in infos[:3]:
            sock = socket.socket(ai[0], ai[1], ai[2])
            sock.settimeout(self._left_ms() / 1000)
            try:
                sock.connect(ai[-1])
                break
            except OSError as e:
                sock.close()
                sock, err = None, e
        if sock is None:
            raise network_error(err, "connecting to " + host)
        self.connections += 1
        self._raw = self._sock = sock
        if ctx is not None:
            try:
                self._sock = ctx.wrap_socket(sock, server_hostname=host)
            except Exception as e:
                raise tls_error(e, host)
            self.handshakes += 1
        self._key = key
        self._poller = None
        if MICROPYTHON and select is not None:
            # MicroPython's blocking readinto waits for a full buffer; non-blocking
            # readinto plus poll gives "what has arrived, within timeout_ms" instead.
            self._poller = select.poll()
            self._poller.register(self._sock, select.POLLIN)

    # -- request and response ----------------------------------------------------------
    def _head(self, method, scheme, host, port, target, headers, body):
        if not method or not method.isalpha() or not method.isupper():
            raise TransportError("bad_request", "invalid method")
        parts = [method, " ", target, " HTTP/1.1\r\nHost: ", host_header(scheme, host, port), "\r\n"]
        agent = self.user_agent
        for name, value in (headers or {}).items():
            name, value = str(name), str(value)
            if not name or "\r" in name or "\n" in name or ":" in name or " " in name:
                raise TransportError("bad_request", "invalid header name")
            if "\r" in value or "\n" in value:
                raise TransportError("bad_request", "header %s holds a line break" % name)
            low = name.lower()
            if low == "user-agent":
                agent = None
            if low not in _OWN_HEADERS:
                parts += (name, ": ", value, "\r\n")
        if agent:
            parts += ("User-Agent: ", agent, "\r\n")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            parts += ("Content-Length: ", str(0 if body is None else len(body)), "\r\n")
        parts.append("\r\n")
        return "".join(parts).encode()

    def _exchange(self, method, head, body, reused):
        self._start = self._end = self._got = 0
        try:
            if self._poller:
                self._raw.settimeout(self._left_ms() / 1000)
            if body and len(body) <= SMALL_BODY:
                # One segment for head and body: a second small write would wait on Nagle's
                # algorithm for the server's delayed ACK (40 ms or more per request).
                head, body = head + body, None
            self._sock.write(head) if MICROPYTHON else self._sock.sendall(head)
            if body:
                self._sock.write(body) if MICROPYTHON else self._sock.sendall(body)
            if self._poller:
                self._raw.setblocking(False)
        except OSError as e:
            if reused:
                raise _Retry()
            raise network_error(e, "sending the request")
        try:
            status, version, headers = self._read_head()
        except _Retry as e:
            if reused and not self._got:
                raise
            if e.args:
                raise e.args[0]
            if self._got:
                raise TransportError("bad_response", "the connection closed inside the response head")
            raise TransportError("reset", "the server closed the connection without answering")
        try:
            return self._read_body(method, status, version, headers)
        except _Retry:
            raise TransportError("bad_response", "the connection closed inside the response")

    def _read_body(self, method, status, version, headers):
        if method == "HEAD" or status in (204, 304):
            body, framed = b"", True
        elif "transfer-encoding" in headers:
            if not headers["transfer-encoding"].lower().endswith("chunked"):
                raise TransportError("bad_response", "unsupported transfer-encoding")
            from deviceflow.http_body import read_chunked

            body, framed = read_chunked(self), True
        elif "content-length" in headers:
            n = headers["content-length"].strip()
            if not n or len(n) > 9 or not _ascii_digits(n):  # str.isdigit() takes any script's digits
                raise TransportError("bad_response", "invalid content-length")
            n = int(n)
            if n > self.max_body:
                raise TransportError("too_large", "response body of %d bytes is over %d" % (n, self.max_body))
            body, framed = self._read_fixed(n), True
        else:
            from deviceflow.http_body import read_to_close

            body, framed = read_to_close(self), False
        keep = (framed and version == "HTTP/1.1" and self._start == self._end
                and "close" not in headers.get("connection", "").lower())
        if not keep:
            self.close()
        return Response(status, headers, body)

    def _recv(self, mv):
        """Read into mv; 0 at end of stream. Socket errors become TransportError, or
        _Retry for a connection that closed before any byte of the answer."""
        try:
            if self._poller:
                n = self._sock.readinto(mv)
                while n is None:
                    if not self._poller.poll(self._left_ms()):
                        raise OSError(errno.ETIMEDOUT)
                    n = self._sock.readinto(mv)
            elif MICROPYTHON:  # no poll: one recv at a time (it allocates)
                self._sock.settimeout(self._left_ms() / 1000)
                data = self._sock.recv(len(mv))
                n = len(data)
                mv[0:n] = data
            else:
                self._sock.settimeout(self._left_ms() / 1000)
                n = self._sock.recv_into(mv)
        except OSError as e:
            err = network_error(e, "reading the response")
            if err.reason == "reset" and not self._got:
                raise _Retry(err)
            raise err
        self._got += n
        return n

    def _left_ms(self):
        """What is left of this request's timeout_ms; a timeout once it is spent."""
        left = self.timeout_ms - _ms_since(self._began)
        if left <= 0:
            raise TransportError("timeout", "no complete answer within %d ms" % self.timeout_ms)
        return left

    def _fill(self):
        """Refill an empty buffer; returns the bytes now buffered (0 at end of stream)."""
        self._start = 0
        self._end = self._recv(self._mv)
        return self._end

    def _line(self):
        """The next CRLF-terminated line without its ending; None if longer than the
        buffer (the line is skipped). Raises _Retry() at end of stream."""
        skipping = False
        while True:
            i = self._buf.find(b"\n", self._start, self._end)
            if i >= 0:
                line = bytes(self._mv[self._start:i])
                self._start = i + 1
                if skipping:
                    return None
                return line[:-1] if line.endswith(b"\r") else line
            if skipping or self._start == 0 and self._end == BUFFER_SIZE:
                skipping = True
                self._start = self._end = 0
            elif self._start:
                n = self._end - self._start
                self._buf[0:n] = bytes(self._mv[self._start:self._end])
                self._start, self._end = 0, n
            n = self._recv(self._mv[self._end:])
            if not n:
                raise _Retry()
            self._end += n

    def _read_head(self):
        # Bytes (CRLFs included) and lines are counted over the whole head, interim 1xx heads
        # too: 2,000 tiny headers fit in 8 KB but would cost ~200 KB of dict on a device.
        total = lines = 0
        while True:
            line = self._line()
            parts = line.split(b" ", 2) if line else ()
            if len(parts) < 2 or len(parts[0]) != 8 or not parts[0].startswith(b"HTTP/1.") \
                    or not _ascii_digits(parts[0][7:]) or len(parts[1]) != 3 or not _ascii_digits(parts[1]):
                raise TransportError("bad_response", "not an HTTP/1.x status line")
            status, version = int(parts[1]), parts[0].decode()
            headers = {}
            total += len(line) + 2
            while True:
                line = self._line()
                if line == b"":
                    break
                lines += 1
                if lines > MAX_HEADERS:
                    raise TransportError("too_large", "more than %d response header lines" % MAX_HEADERS)
                if line is None:
                    total += BUFFER_SIZE
                else:
                    total += len(line) + 2
                    if line[0] not in (32, 9):  # folded continuation lines are ignored
                        c = line.find(b":")
                        if c <= 0:
                            raise TransportError("bad_response", "malformed header line")
                        try:
                            name = line[:c].strip().decode().lower()
                            value = line[c + 1:].strip().decode()
                        except UnicodeError:
                            continue
                        headers[name] = headers[name] + ", " + value if name in headers else value
                if total > self.max_header:
                    raise TransportError("too_large", "response headers are over %d bytes" % self.max_header)
            if not 100 <= status < 200:
                return status, version, headers

    def _take(self, out, n):
        """Add n body bytes to `out` (http_body), from the buffer first, then the socket."""
        while n > 0:
            if self._start == self._end and not self._fill():
                raise TransportError("bad_response", "the connection closed inside the body")
            k = min(n, self._end - self._start)
            out.add(self._mv[self._start:self._start + k])
            self._start += k
            n -= k

    def _read_fixed(self, n):
        if self._sink is not None:
            from deviceflow.http_body import Sink

            out = Sink(self._sink)
            self._take(out, n)
            return out.join()
        out = bytearray(n)
        mv = memoryview(out)
        pos = min(n, self._end - self._start)
        mv[0:pos] = self._mv[self._start:self._start + pos]
        self._start += pos
        while pos < n:  # straight from the socket into the body, no extra copy
            k = self._recv(mv[pos:])
            if not k:
                raise TransportError("bad_response", "the connection closed inside the body")
            pos += k
        return out  # the bytearray itself: a copy would need a second block as large
