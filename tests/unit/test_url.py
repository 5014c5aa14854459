# URL parsing, the loopback rule and CA-file splitting: pure functions the transport
# relies on, checked under MicroPython and CPython alike.
import binascii

from check import raises
from deviceflow.errors import TransportError
from deviceflow.url import parse_url, is_loopback, host_header
from deviceflow.http import Response, Transport
from deviceflow.tlsconf import split_certs


def test_https_url_defaults_port_443_and_keeps_path_and_query():
    assert parse_url("https://tenant.us.auth0.com/oauth/token?a=1&b=2") == (
        "https", "tenant.us.auth0.com", 443, "/oauth/token?a=1&b=2")


def test_http_url_defaults_port_80():
    assert parse_url("http://127.0.0.1/x") == ("http", "127.0.0.1", 80, "/x")


def test_scheme_and_host_are_case_insensitive_path_is_not():
    assert parse_url("HTTPS://Tenant.Auth0.COM:8443/Path/A") == ("https", "tenant.auth0.com", 8443, "/Path/A")


def test_empty_path_becomes_slash_and_query_only_gets_one():
    assert parse_url("https://h")[3] == "/"
    assert parse_url("https://h?x=1")[3] == "/?x=1"


def test_fragment_is_never_sent():
    assert parse_url("https://h/activate#frag")[3] == "/activate"


def test_ipv6_literal_in_brackets():
    assert parse_url("http://[::1]:8080/a") == ("http", "::1", 8080, "/a")
    assert parse_url("https://[2001:DB8::1]/") == ("https", "2001:db8::1", 443, "/")


def test_bad_urls_raise_bad_url():
    for url in ("", "tenant.auth0.com/x", "ftp://h/", "https://", "https:///path", "https://h:/",
                "https://h:0/", "https://h:65536/", "https://h:12a/", "https://[::1/", "https://[zz::1]/",
                "https://a..b/", "https://-a.com/", "https://h/a b", "https://h/a\r\nX: y",
                "https://h/\u00e9", "https://[::1]x/"):
        e = raises(TransportError, parse_url, url)
        assert e.reason == "bad_url", url


def test_credentials_in_url_are_refused_and_not_echoed():
    e = raises(TransportError, parse_url, "https://user:s3cr3tpass@h/")
    assert e.reason == "bad_url" and "s3cr3tpass" not in str(e)


def test_bad_url_detail_never_repeats_the_query():
    e = raises(TransportError, parse_url, "https://h:99999/token?device_code=GmRhmhcxhwAzkoEqiMEg")
    assert "GmRhmhcxhwAzkoEqiMEg" not in str(e)


def test_non_string_url_is_bad_url():
    assert raises(TransportError, parse_url, b"https://h/").reason == "bad_url"


def test_loopback_hosts():
    for host in ("localhost", "127.0.0.1", "127.1.2.3", "::1"):
        assert is_loopback(host), host
    for host in ("example.com", "localhost.example.com", "x.localhost", "10.0.0.1", "128.0.0.1",
                 "127.0.0.1.nip.io", "::2", "0.0.0.0"):
        assert not is_loopback(host), host


def test_insecure_http_refused_before_any_connection():
    t = Transport()
    e = raises(TransportError, t.request, "POST", "http://tenant.auth0.com/oauth/token", None, b"x=1")
    assert e.reason == "insecure_url"
    assert t.connections == 0 and t.handshakes == 0


def test_host_header_adds_port_only_when_not_default():
    assert host_header("https", "h.com", 443) == "h.com"
    assert host_header("https", "h.com", 8443) == "h.com:8443"
    assert host_header("http", "127.0.0.1", 80) == "127.0.0.1"
    assert host_header("http", "::1", 8080) == "[::1]:8080"


def _fake_der(n, fill):
    # An ASN.1 SEQUENCE of n content bytes, long-form length when n > 127.
    if n < 128:
        return bytes([0x30, n]) + bytes([fill]) * n
    return bytes([0x30, 0x82, n >> 8, n & 0xFF]) + bytes([fill]) * n


def _pem(der):
    b64 = binascii.b2a_base64(der).strip()
    lines = b"\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"


def test_split_concatenated_der():
    a, b = _fake_der(300, 1), _fake_der(40, 2)
    assert split_certs(a + b) == [a, b]


def test_split_pem_bundle_with_comments():
    a, b = _fake_der(500, 3), _fake_der(20, 4)
    text = b"# root one\n" + _pem(a) + b"\r\nsubject=two\n" + _pem(b).replace(b"\n", b"\r\n")
    assert split_certs(text) == [a, b]
    assert split_certs(text.decode()) == [a, b]


def test_split_rejects_non_certificates():
    for data in (b"", b"hello", _fake_der(300, 1)[:-1], b"-----BEGIN CERTIFICATE-----\nAAAA\n"):
        raises(ValueError, split_certs, data)


def test_response_repr_hides_the_body():
    r = Response(200, {"content-type": "application/json"}, b'{"access_token":"eyJsecret"}')
    assert "eyJsecret" not in repr(r) and "200" in repr(r)


def test_https_without_ca_is_tls_no_ca_not_an_unverified_connection():
    t = Transport()
    e = raises(TransportError, t.request, "GET", "https://127.0.0.1:1/")
    assert e.reason == "tls_no_ca" and type(e).__name__ == "TLSError"
    assert t.connections == 0


def test_header_values_with_line_breaks_are_refused_without_echo():
    t = Transport()
    e = raises(TransportError, t.request, "GET", "http://127.0.0.1:1/", {"Authorization": "Bearer abc\r\nX: 1"})
    assert e.reason == "bad_request" and "abc" not in str(e)
    assert t.connections == 0
