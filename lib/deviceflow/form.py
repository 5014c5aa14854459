# application/x-www-form-urlencoded bodies (the OAuth request format, and GitHub's
# default reply format), UTF-8, on MicroPython and CPython alike.
#
# urlencode keeps the RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), writes a
# space as '+', and every other byte of the UTF-8 encoding as %XX (upper-case hex).
from deviceflow.errors import ReplyError

_HEX = b"0123456789ABCDEF"
_UNRESERVED = b"-._~"


def _is_unreserved(c):
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c in _UNRESERVED


def _as_bytes(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, str):
        return v.encode("utf-8")
    return str(v).encode("utf-8")


def _quote_into(out, data):
    for c in data:
        if _is_unreserved(c):
            out.append(c)
        elif c == 32:
            out.append(43)  # '+'
        else:
            out.append(37)  # '%'
            out.append(_HEX[c >> 4])
            out.append(_HEX[c & 15])


def urlencode(pairs):
    """Form-encode a dict or a list of (name, value) pairs into bytes.

    Values may be str, bytes or numbers; a pair whose value is None is left out.
    """
    items = pairs.items() if hasattr(pairs, "items") else pairs
    out = bytearray()
    for k, v in items:
        if v is None:
            continue
        if out:
            out.append(38)  # '&'
        _quote_into(out, _as_bytes(k))
        out.append(61)  # '='
        _quote_into(out, _as_bytes(v))
    return bytes(out)


def _hex_value(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


def _unquote(part):
    out = bytearray()
    i = 0
    n = len(part)
    while i < n:
        c = part[i]
        if c == 43:  # '+'
            out.append(32)
        elif c == 37:  # '%'
            hi = _hex_value(part[i + 1]) if i + 1 < n else -1
            lo = _hex_value(part[i + 2]) if i + 2 < n else -1
            if hi < 0 or lo < 0:
                raise ReplyError("bad_reply", "a form-encoded reply has a broken %-escape")
            out.append((hi << 4) | lo)
            i += 2
        else:
            out.append(c)
        i += 1
    try:
        return bytes(out).decode("utf-8")
    except (UnicodeError, ValueError):
        raise ReplyError("bad_reply", "a form-encoded reply is not valid UTF-8")


def urldecode(data):
    """Decode a form-encoded bytes/str into a dict of str (the last of repeated names wins).

    '+' is a space and %XX a UTF-8 byte; a broken escape or invalid UTF-8 raises
    ReplyError('bad_reply'), and nothing else is raised on any input.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, bytes):
        try:
            data = bytes(data)
        except (TypeError, ValueError):
            raise ReplyError("bad_reply", "a form-encoded reply is not text")
    result = {}
    for part in data.split(b"&"):
        if not part:
            continue
        eq = part.find(b"=")
        if eq < 0:
            name, value = part, b""
        else:
            name, value = part[:eq], part[eq + 1 :]
        name = _unquote(name)
        if name:
            result[name] = _unquote(value)
    return result


def revocation_form(refresh_token, client_id):
    """RFC 7009: the body that revokes a refresh token at the revocation endpoint (sign-out)."""
    return urlencode([("token", refresh_token), ("token_type_hint", "refresh_token"), ("client_id", client_id)])
