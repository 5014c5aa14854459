# How socket and TLS failures are named (deviceflow.tlsconf): an out-of-memory failure must
# say so (out_of_memory), not pass for the peer hanging up (reset), and a certificate that is
# "not valid yet" gets its own reason, because on a board it means the clock is unset.
import errno

from deviceflow.errors import TLSError
from deviceflow.tlsconf import MICROPYTHON, network_error, tls_error

ENOMEM = getattr(errno, "ENOMEM", 12)


def test_enomem_from_a_socket_is_out_of_memory_not_a_reset():
    e = network_error(OSError(ENOMEM), "connecting to example.com")
    assert e.reason == "out_of_memory"
    assert "out of memory" in e.detail


def test_memory_error_is_out_of_memory():
    assert network_error(MemoryError(), "reading the response").reason == "out_of_memory"
    assert tls_error(MemoryError(), "example.com").reason == "out_of_memory"


def test_mbedtls_alloc_failed_codes_are_out_of_memory():
    # MBEDTLS_ERR_SSL_ALLOC_FAILED, _X509_, _PK_, _MPI_ALLOC_FAILED as the tls module raises them
    for code in (-0x7F00, -0x2880, -0x3F80, -0x0010):
        e = tls_error(OSError(code, "alloc failed"), "example.com")
        assert e.reason == "out_of_memory", (code, e.reason)
        assert not isinstance(e, TLSError)  # a retry can succeed: not a certificate problem


def test_enomem_during_the_handshake_is_out_of_memory():
    assert tls_error(OSError(ENOMEM), "example.com").reason == "out_of_memory"


def test_other_failures_keep_their_reasons():
    assert network_error(OSError(getattr(errno, "ECONNRESET", 104)), "x").reason == "reset"
    assert network_error(OSError(getattr(errno, "ETIMEDOUT", 110)), "x").reason == "timeout"
    assert network_error(OSError(getattr(errno, "ECONNREFUSED", 111)), "x").reason == "refused"
    if MICROPYTHON:
        e = tls_error(OSError(-0x7780, "fatal alert"), "example.com")  # MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE
        assert e.reason == "tls" and "-0x7780" in e.detail


def test_certificate_not_yet_valid_is_its_own_reason():
    if MICROPYTHON:
        # The text mbedTLS gives for MBEDTLS_X509_BADCERT_FUTURE, as MicroPython's tls raises it.
        e = tls_error(ValueError("\n  ! The certificate validity starts in the future\n"), "example.com")
        expired = tls_error(ValueError("\n  ! The certificate validity has expired\n"), "example.com")
    else:
        import ssl

        e = ssl.SSLCertVerificationError(1, "certificate verify failed")
        e.verify_code, e.verify_message = 9, "certificate is not yet valid"
        e = tls_error(e, "example.com")
        expired = ssl.SSLCertVerificationError(1, "certificate verify failed")
        expired.verify_code, expired.verify_message = 10, "certificate has expired"
        expired = tls_error(expired, "example.com")
    assert e.reason == "tls_not_yet_valid" and "clock" in e.detail
    assert expired.reason == "tls_expired"
