# URL parsing for the transport: absolute http(s) URLs only, strict enough that
# nothing odd reaches a request line or a Host header.
#
#   parse_url("https://Tenant.auth0.com/oauth/token?x=1")
#     -> ("https", "tenant.auth0.com", 443, "/oauth/token?x=1")
#
# Errors are TransportError('bad_url', detail); the detail never repeats the
# path or query (they could carry something secret), only what was wrong.
from deviceflow.errors import TransportError

DEFAULT_PORTS = {"https": 443, "http": 80}
_HEX = "0123456789abcdef"


def _bad(detail):
    return TransportError("bad_url", detail)


def _check_chars(url):
    for ch in url:
        o = ord(ch)
        if o <= 32 or o >= 127:
            raise _bad("URL contains a space, control or non-ASCII character")


def _is_ipv4(host):
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p or len(p) > 3 or not p.isdigit() or int(p) > 255:
            return False
    return True


def _is_ipv6(host):
    if host.count(":") < 2 or host.count("::") > 1:
        return False
    for group in host.split(":"):
        if len(group) > 4:
            return False
        for ch in group:
            if ch not in _HEX:
                return False
    return True


def _check_host(host):
    if not host:
        raise _bad("URL has no host")
    if len(host) > 253:
        raise _bad("host name too long")
    if _is_ipv4(host):
        return
    for label in host.split("."):
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            raise _bad("invalid host name")
        for ch in label:
            if not (ch.isalpha() or ch.isdigit() or ch == "-" or ch == "_"):
                raise _bad("invalid host name")


def parse_url(url):
    """Split an absolute http(s) URL into (scheme, host, port, target).

    host is lowercase, without brackets for IPv6 literals; target is the path
    plus query ('/' when empty), the fragment dropped."""
    if not isinstance(url, str):
        raise _bad("URL must be a str")
    _check_chars(url)
    i = url.find("://")
    if i <= 0:
        raise _bad("URL must start with https:// or http://")
    scheme = url[:i].lower()
    if scheme not in DEFAULT_PORTS:
        raise _bad("unsupported scheme " + scheme)
    rest = url[i + 3:]
    h = rest.find("#")
    if h >= 0:
        rest = rest[:h]
    cut = len(rest)
    for sep in "/?":
        j = rest.find(sep)
        if 0 <= j < cut:
            cut = j
    authority, target = rest[:cut], rest[cut:]
    if not target:
        target = "/"
    elif target[0] == "?":
        target = "/" + target
    if "@" in authority:
        raise _bad("credentials in URLs are not allowed")
    port_text = ""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _bad("unclosed [ in host")
        host = authority[1:end].lower()
        tail = authority[end + 1:]
        if tail:
            if tail[0] != ":":
                raise _bad("junk after ]")
            port_text = tail[1:]
            if not port_text:
                raise _bad("empty port")
        if not _is_ipv6(host):
            raise _bad("invalid IPv6 literal")
    else:
        c = authority.find(":")
        if c >= 0:
            host, port_text = authority[:c].lower(), authority[c + 1:]
            if not port_text:
                raise _bad("empty port")
        else:
            host = authority.lower()
        _check_host(host)
    if port_text:
        if not port_text.isdigit() or len(port_text) > 5 or not 0 < int(port_text) < 65536:
            raise _bad("invalid port")
        port = int(port_text)
    else:
        port = DEFAULT_PORTS[scheme]
    return scheme, host, port, target


def is_loopback(host):
    """True for names that never leave the machine: localhost, 127.0.0.0/8, ::1."""
    if host == "localhost":
        return True
    if _is_ipv4(host):
        return host.split(".")[0] == "127"
    return host in ("::1", "0:0:0:0:0:0:0:1")


def host_header(scheme, host, port):
    """The Host header value: brackets for IPv6, the port only when not the default."""
    name = "[" + host + "]" if ":" in host else host
    if port != DEFAULT_PORTS[scheme]:
        name += ":" + str(port)
    return name
