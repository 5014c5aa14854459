# The less common ways an HTTP/1.1 body arrives, for deviceflow.http's Transport, which loads
# this module only when a reply needs it (deviceflow/phase.py): chunked bodies, bodies that end
# with the connection, and bodies written straight to a stream (a cache file) as they arrive.
from deviceflow.errors import TransportError
from deviceflow.http import BUFFER_SIZE  # also the size of the staging buffer's pieces


class Body:
    """Body bytes gathered through a small staging buffer into ~1 KB pieces, so that tiny
    chunks cost no per-chunk overhead and no block as large as the body exists before join()."""

    def __init__(self):
        self.pieces = []
        self.stage = bytearray(BUFFER_SIZE)
        self.view = memoryview(self.stage)
        self.n = 0

    def add(self, mv):
        while len(mv):
            k = min(len(mv), BUFFER_SIZE - self.n)
            self.view[self.n:self.n + k] = mv[:k]
            self.n += k
            mv = mv[k:]
            if self.n == BUFFER_SIZE:
                self.pieces.append(bytes(self.stage))
                self.n = 0

    def join(self):
        self.pieces.append(bytes(self.view[:self.n]))
        self.stage = self.view = None
        return b"".join(self.pieces)


class Sink:
    """Body bytes written straight to a stream (a cache file) as they arrive: a large body
    needs no contiguous block of heap, which a fragmented board heap may not have."""

    def __init__(self, stream):
        self.stream = stream

    def add(self, mv):
        self.stream.write(mv)

    def join(self):
        return b""


def read_chunked(t):
    """A chunked body (RFC 9112 7.1), trailers bounded like headers."""
    out = Body() if t._sink is None else Sink(t._sink)
    total = 0
    while True:
        line = t._line()
        size = (line or b"").split(b";")[0].strip()
        if not size or len(size) > 8 or [c for c in size if c not in b"0123456789abcdefABCDEF"]:
            raise TransportError("bad_response", "invalid chunk size")
        size = int(size, 16)
        if not size:
            break
        total += size
        if total > t.max_body:
            raise TransportError("too_large", "response body is over %d bytes" % t.max_body)
        t._take(out, size)
        if t._line() != b"":
            raise TransportError("bad_response", "chunk not followed by CRLF")
    total = 0
    while True:  # trailers, bounded like headers
        line = t._line()
        if line == b"":
            return out.join()
        total += BUFFER_SIZE if line is None else len(line) + 2
        if total > t.max_header:
            raise TransportError("too_large", "response trailers are over %d bytes" % t.max_header)

def read_to_close(t):
    """A body framed by the end of the connection (HTTP/1.0 style)."""
    out = Body() if t._sink is None else Sink(t._sink)
    total = 0
    while t._start < t._end or t._fill():
        k = t._end - t._start
        total += k
        if total > t.max_body:
            raise TransportError("too_large", "response body is over %d bytes" % t.max_body)
        out.add(t._mv[t._start:t._end])
        t._start = t._end
    return out.join()
