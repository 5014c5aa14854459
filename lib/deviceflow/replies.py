# Reading OAuth replies: a JSON object or a form-encoded body (GitHub) into a dict, the
# OAuth error it carries, the Retry-After header, and the token set of a 200 reply.
#
# Nothing here ever puts reply content in an exception: a reply may hold tokens.
import json

from deviceflow.errors import ReplyError
from deviceflow.form import urldecode

_MAX_TEXT = 200  # longest error_description / error code kept for the screen
_MAX_DEPTH = 32  # JSON nesting; an OAuth reply needs 3


def _bad(detail):
    return ReplyError("bad_reply", detail)


def _body_bytes(body):
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return body  # not copied: a board's heap may hold one such block, not two
    try:
        return bytes(body)
    except (TypeError, ValueError):
        raise _bad("the reply body is not bytes")


def _looks_like_form(data):
    # name=value pairs with no white space (an error page in plain text has spaces)
    if b"=" not in data:
        return False
    for c in data:
        if c <= 32:
            return False
    return True


# well_formed_json states: what the next non-blank byte must be
_VALUE, _VALUE_OR_END, _KEY, _KEY_OR_END, _COLON, _AFTER = range(6)
_DIGITS = b"0123456789"


def _skip_digits(data, i, n):
    while i < n and data[i] in _DIGITS:
        i += 1
    return i


def _number_end(data, i, n):
    """Index past the RFC 8259 number at i, or -1."""
    if data[i] == 45:  # -
        i += 1
    if i >= n or data[i] not in _DIGITS:
        return -1
    i = i + 1 if data[i] == 48 else _skip_digits(data, i, n)  # no leading zeros
    if i < n and data[i] == 46:  # .
        j = _skip_digits(data, i + 1, n)
        if j == i + 1:
            return -1
        i = j
    if i < n and data[i] in b"eE":
        i += 1
        if i < n and data[i] in b"+-":
            i += 1
        j = _skip_digits(data, i, n)
        if j == i:
            return -1
        i = j
    return i


def _string_end(data, i, n):
    """Index past the string whose opening quote is at i, or -1 (unterminated, bad escape)."""
    i += 1
    while True:
        q = data.find(b'"', i)
        if q < 0:
            return -1
        b = data.find(b"\\", i, q)
        if b < 0:
            return q + 1
        e = data[b + 1]
        if e == 117:  # \uXXXX
            for c in data[b + 2:b + 6]:
                if c not in b"0123456789abcdefABCDEF":
                    return -1
            if b + 6 > n:
                return -1
            i = b + 6
        elif e in b'"\\/bfnrt':
            i = b + 2
        else:
            return -1


def well_formed_json(data):
    """True when bytes `data` is one JSON text by RFC 8259's grammar (nesting up to _MAX_DEPTH).

    MicroPython's json.loads is lenient: it takes {"a" 1} and {"a":1,,} and reads {"a":"x" "y"}
    as {"a": "x"}, so a garbled reply could pass for a real one. This walks the structure once
    without allocating (strings are skipped with find); control characters inside strings are
    not checked."""
    n = len(data)
    stack = bytearray(_MAX_DEPTH)  # the open brackets, stack[depth - 1] innermost
    depth = 0
    state = _VALUE
    i = 0
    while True:
        while i < n and data[i] in b" \t\r\n":
            i += 1
        if i >= n:
            return state == _AFTER and not depth
        c = data[i]
        if state == _AFTER:
            if not depth:
                return False
            top = stack[depth - 1]
            if c == 44:  # ,
                state = _KEY if top == 123 else _VALUE
            elif c == top + 2:  # } after {, ] after [
                depth -= 1
            else:
                return False
            i += 1
        elif state == _COLON:
            if c != 58:
                return False
            state = _VALUE
            i += 1
        elif (state == _VALUE_OR_END and c == 93) or (state == _KEY_OR_END and c == 125):
            depth -= 1
            state = _AFTER
            i += 1
        elif state in (_KEY, _KEY_OR_END):
            i = _string_end(data, i, n) if c == 34 else -1
            state = _COLON
        elif c == 34:  # "
            i = _string_end(data, i, n)
            state = _AFTER
        elif c == 123 or c == 91:  # { [
            if depth >= _MAX_DEPTH:
                return False
            stack[depth] = c
            depth += 1
            state = _KEY_OR_END if c == 123 else _VALUE_OR_END
            i += 1
        elif c == 45 or c in _DIGITS:
            i = _number_end(data, i, n)
            state = _AFTER
        else:
            for word in (b"true", b"false", b"null"):
                if data[i:i + len(word)] == word:
                    i += len(word)
                    state = _AFTER
                    break
            else:
                return False
        if i < 0:
            return False


def parse_reply(headers, body):
    """Parse an OAuth reply into a dict; raise ReplyError('bad_reply', detail) otherwise.

    headers: dict with lowercase names. JSON is recognised by its content ('{' or '[')
    or an application/json content type; form-encoded by content type, or by a
    text/plain or missing one when the body is a bare name=value&... string.
    """
    data = _body_bytes(body)
    i = 0
    while i < len(data) and data[i] in b" \t\r\n":
        i += 1
    if i == len(data):
        raise _bad("the server sent an empty reply")
    ctype = headers.get("content-type", "") if headers else ""
    if isinstance(ctype, bytes):
        ctype = ctype.decode("utf-8", "ignore")
    ctype = ctype.lower()
    first = data[i]
    if first == 60 or ("html" in ctype and first not in (123, 91)):  # '<'
        raise _bad("the server sent an HTML page, not an OAuth reply")
    if first in (123, 91) or "json" in ctype:  # '{' '['
        if not well_formed_json(data):
            raise _bad("the server sent malformed or truncated JSON")
        try:
            reply = json.loads(data)
        except (ValueError, TypeError, IndexError, RuntimeError):
            raise _bad("the server sent malformed or truncated JSON")
        if not isinstance(reply, dict):
            raise _bad("the server sent JSON that is not an object")
        return reply
    if "x-www-form-urlencoded" in ctype or (("text/plain" in ctype or not ctype) and _looks_like_form(data.strip())):
        reply = urldecode(data.strip())
        if not reply:
            raise _bad("the server sent an empty form reply")
        return reply
    raise _bad("the server sent neither JSON nor a form-encoded reply")


def retry_after_ms(headers):
    """Retry-After in delta-seconds as milliseconds; None when absent or an HTTP-date."""
    if not headers:
        return None
    v = headers.get("retry-after")
    if v is None:
        return None
    if isinstance(v, bytes):
        v = v.decode("utf-8", "ignore")
    v = str(v).strip()
    if not v or len(v) > 9:
        return None
    for c in v:
        if c not in "0123456789":
            return None
    return int(v) * 1000


def short_text(value, limit=_MAX_TEXT):
    """A str fit for a screen line or log field, or None."""
    if not isinstance(value, str) or not value:
        return None
    return value if len(value) <= limit else value[: limit - 3] + "..."


def oauth_error(reply):
    """(error_code, error_description) of a parsed reply; (None, None) when it carries none.

    `error` is RFC 6749's member; Google quota replies use `error_code`; Google API style
    `{"error": {"status": ..., "message": ...}}` is read too.
    """
    err = reply.get("error")
    desc = reply.get("error_description")
    if isinstance(err, dict):
        desc = desc or err.get("message")
        err = err.get("status") or err.get("code")
        if err is not None and not isinstance(err, str):
            err = str(err)
        if isinstance(err, str):
            err = err.lower()
    if not err or not isinstance(err, str):
        err = reply.get("error_code")
    if not err or not isinstance(err, str):
        return None, None
    return short_text(err, 64), short_text(desc)


def as_int(value):
    """A non-negative whole number from JSON (int/float) or a form reply (digit string); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value >= 0 and value == value and value < 1e12 else None
    if isinstance(value, str):
        v = value.strip()
        if v and len(v) <= 12:
            for c in v:
                if c not in "0123456789":
                    return None
            return int(v)
    return None


def _opt_str(reply, name):
    """A string member, or None when absent, null or empty; anything else is a garbled reply."""
    v = reply.get(name)
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise _bad("the token reply's %s is not a string" % name)
    return v


def _token_chars(value):
    """RFC 6750 2.1: the token goes into "Authorization: Bearer <token>" as it is: visible
    ASCII, no spaces."""
    for c in value.encode():
        if c < 33 or c > 126:
            return False
    return True


def token_set(reply):
    """The token dict of a successful token reply; ReplyError('bad_reply') naming what is wrong.

    Keys: access_token, token_type, expires_in (int or None), refresh_token, id_token, scope
    (each None when absent). Strict, so that a garbled reply is never taken for tokens:
    access_token a non-empty string of visible ASCII, token_type 'bearer' (compared
    case-insensitively), expires_in a non-negative whole number (a digit string too: form
    replies, and Azure AD v1 in JSON), the other members strings.
    """
    access = _opt_str(reply, "access_token")
    if access is None or not _token_chars(access):
        raise _bad("the token reply has no usable access_token")
    ttype = _opt_str(reply, "token_type")
    if ttype is None:
        raise _bad("the token reply has no token_type")
    if ttype.lower() != "bearer":
        raise _bad("the token reply's token_type is not bearer")
    raw = reply.get("expires_in")
    expires_in = as_int(raw)
    if raw is not None and expires_in is None:
        raise _bad("the token reply's expires_in is not a number of seconds")
    return {
        "access_token": access,
        "token_type": ttype,
        "expires_in": expires_in,
        "refresh_token": _opt_str(reply, "refresh_token"),
        "id_token": _opt_str(reply, "id_token"),
        "scope": _opt_str(reply, "scope"),
    }
