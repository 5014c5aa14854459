# TLS set-up for the transport, independent of any URL: the CA certificates to trust (PEM
# or DER, from a file or from bytes), one verifying client context for MicroPython (tls) or
# CPython (ssl), and the mapping of handshake and socket failures to errors a user can act on.
#
# There is no way to make an unverified context here: no CA -> TLSError, never CERT_NONE.
# Error details name the host at most.
import sys
import socket
import errno
import binascii

from deviceflow.errors import TransportError, TLSError

MICROPYTHON = sys.implementation.name == "micropython"
if not MICROPYTHON:
    import ssl as _ssl
# MicroPython's tls is imported by client_context(), on the first https URL: a plain-http
# (loopback) run never loads it, and a port built without it still runs.


_TIMEOUT = set(getattr(errno, n) for n in ("ETIMEDOUT", "EAGAIN", "EWOULDBLOCK") if hasattr(errno, n))
_REFUSED = set(getattr(errno, n) for n in ("ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH") if hasattr(errno, n))
# Out of memory: errno ENOMEM (MicroPython's tls raises it for MBEDTLS_ERR_SSL_ALLOC_FAILED; lwIP
# for a socket buffer) and mbedTLS's own *_ALLOC_FAILED codes (SSL, X509, PK, MPI, ECP, ASN1,
# cipher). On an ESP32 these mean the IDF heap is short, not that the peer hung up.
_NOMEM = set((getattr(errno, "ENOMEM", 12), -0x7F00, -0x2880, -0x3F80, -0x0010, -0x4D80, -0x006A, -0x6180))
_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"


def split_certs(data):
    """The DER certificates in `data`: PEM text with one or more certificates, or one or
    more concatenated DER certificates. Raises ValueError when there are none."""
    if isinstance(data, str):
        data = data.encode()
    out = []
    if _PEM_BEGIN in data:
        i = 0
        while True:
            b = data.find(_PEM_BEGIN, i)
            if b < 0:
                break
            e = data.find(_PEM_END, b)
            if e < 0:
                raise ValueError("unterminated PEM certificate")
            out.append(binascii.a2b_base64(data[b + len(_PEM_BEGIN):e]))
            i = e + len(_PEM_END)
    else:
        i = 0
        while i < len(data):
            if data[i] != 0x30 or i + 2 > len(data):
                raise ValueError("not a DER certificate")
            n = data[i + 1]
            head = 2
            if n & 0x80:
                k = n & 0x7F
                if k < 1 or k > 3 or i + 2 + k > len(data):
                    raise ValueError("bad DER length")
                n = 0
                for j in range(k):
                    n = (n << 8) | data[i + 2 + j]
                head += k
            if i + head + n > len(data):
                raise ValueError("truncated DER certificate")
            out.append(bytes(data[i:i + head + n]))
            i += head + n
    if not out:
        raise ValueError("no certificate found")
    return out


def client_context(ca_file=None, cadata=None):
    """A client context that verifies the server's certificate chain and host name (TLS 1.2
    or later on CPython) against the CAs in cadata (PEM or DER), else in the file ca_file.
    Raises TLSError('tls_no_ca') when there are none or they cannot be read or parsed."""
    data = cadata
    if data is None and ca_file:
        try:
            with open(ca_file, "rb") as f:
                data = f.read()
        except OSError:
            raise TLSError("tls_no_ca", "cannot read the CA file " + str(ca_file))
    if data is None:
        raise TLSError("tls_no_ca", "no CA certificate configured for https")
    try:
        ders = split_certs(data)
    except ValueError:
        raise TLSError("tls_no_ca", "the CA data holds no PEM or DER certificate")
    try:
        if MICROPYTHON:
            import tls as _tls

            ctx = _tls.SSLContext(_tls.PROTOCOL_TLS_CLIENT)
            ctx.verify_mode = _tls.CERT_REQUIRED
            for der in ders:  # one certificate per call: mbedTLS reads only the first
                ctx.load_verify_locations(der)
        else:
            ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
            ctx.minimum_version = _ssl.TLSVersion.TLSv1_2
            for der in ders:
                ctx.load_verify_locations(cadata=der)
    except (ValueError, OSError):
        raise TLSError("tls_no_ca", "a CA certificate could not be parsed")
    return ctx


def network_error(e, what):
    """Map an OSError (or MemoryError) from socket work to TransportError('timeout'|'refused'|
    'out_of_memory'|'reset')."""
    code = getattr(e, "errno", None)
    if code is None and e.args and isinstance(e.args[0], int):
        code = e.args[0]
    if code in _NOMEM or isinstance(e, MemoryError):
        return TransportError("out_of_memory", what + ": out of memory")
    if code in _TIMEOUT or (not MICROPYTHON and isinstance(e, socket.timeout)):
        return TransportError("timeout", what + " timed out")
    if code in _REFUSED:
        return TransportError("refused", what + ": connection refused or unreachable")
    return TransportError("reset", "%s: connection failed (errno %s)" % (what, code))


def tls_error(e, host):
    """Map a handshake failure to TLSError with a reason a user can act on."""
    if MICROPYTHON:
        if isinstance(e, ValueError):  # mbedTLS verification flags, as text
            msg = str(e)
            if "trusted CA" in msg or "not trusted" in msg:
                return TLSError("tls_untrusted", "certificate of %s is not from a trusted CA" % host)
            if "validity has expired" in msg:
                return TLSError("tls_expired", "certificate of %s has expired" % host)
            if "in the future" in msg:
                return TLSError("tls_not_yet_valid", "certificate of %s is not valid yet (is the clock set?)" % host)
            if "CN" in msg:
                return TLSError("tls_hostname", "certificate is not valid for %s" % host)
            return TLSError("tls", "certificate of %s refused: %s" % (host, msg.strip()))
        code = e.args[0] if e.args else None
        if code in _NOMEM or isinstance(e, MemoryError):
            return network_error(e, "TLS handshake with " + host)
        if isinstance(code, int) and code < 0:
            return TLSError("tls", "TLS handshake with %s failed (mbedTLS -0x%04x)" % (host, -code))
    else:
        if isinstance(e, _ssl.SSLCertVerificationError):
            code = e.verify_code
            if code == 9:  # X509_V_ERR_CERT_NOT_YET_VALID
                return TLSError("tls_not_yet_valid", "certificate of %s is not valid yet (is the clock set?)" % host)
            if code == 10:
                return TLSError("tls_expired", "certificate of %s has expired" % host)
            if code in (62, 64):
                return TLSError("tls_hostname", "certificate is not valid for %s" % host)
            if code in (2, 18, 19, 20, 21, 27):
                return TLSError("tls_untrusted", "certificate of %s is not from a trusted CA" % host)
            return TLSError("tls", "certificate of %s refused: %s" % (host, e.verify_message))
        if isinstance(e, _ssl.SSLError):
            return TLSError("tls", "TLS handshake with %s failed: %s" % (host, e.reason))
    if isinstance(e, (OSError, MemoryError)):
        return network_error(e, "TLS handshake with " + host)
    return TLSError("tls", "TLS handshake with %s failed" % host)
