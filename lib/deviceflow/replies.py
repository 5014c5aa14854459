# Reading OAuth replies: a JSON object or a form-encoded body (GitHub) into a dict, the
# OAuth error it carries, the Retry-After header, and the token set of a 200 reply.
#
# Nothing here ever puts reply content in an exception: a reply may hold tokens.
import json

from deviceflow.errors import ReplyError
from deviceflow.form import urldecode

_MAX_TEXT = 200  # longest error_description / error code kept for the screen


def _bad(detail):
    return ReplyError("bad_reply", detail)


def _body_bytes(body):
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes):
        return body
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


def parse_reply(headers, body):
    """Parse an OAuth reply into a dict; raise ReplyError('bad_reply', detail) otherwise.

    headers: dict with lowercase names. JSON is recognised by its content ('{' or '[')
    or an application/json content type; form-encoded by content type, or by a
    text/plain or missing one when the body is a bare name=value&... string.
    """
    data = _body_bytes(body).strip()
    if not data:
        raise _bad("the server sent an empty reply")
    ctype = headers.get("content-type", "") if headers else ""
    if isinstance(ctype, bytes):
        ctype = ctype.decode("utf-8", "ignore")
    ctype = ctype.lower()
    first = data[0]
    if first == 60 or ("html" in ctype and first not in (123, 91)):  # '<'
        raise _bad("the server sent an HTML page, not an OAuth reply")
    if first in (123, 91) or "json" in ctype:  # '{' '['
        try:
            reply = json.loads(data)
        except (ValueError, TypeError, IndexError, RuntimeError):
            raise _bad("the server sent malformed or truncated JSON")
        if not isinstance(reply, dict):
            raise _bad("the server sent JSON that is not an object")
        return reply
    if "x-www-form-urlencoded" in ctype or (("text/plain" in ctype or not ctype) and _looks_like_form(data)):
        reply = urldecode(data)
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
    v = reply.get(name)
    return v if isinstance(v, str) and v else None


def token_set(reply):
    """The token dict of a successful token reply; ReplyError('bad_reply') naming what is wrong.

    Keys: access_token, token_type, expires_in (int or None), refresh_token, id_token, scope
    (each None when absent). token_type must be 'bearer', compared case-insensitively.
    """
    access = _opt_str(reply, "access_token")
    if access is None:
        raise _bad("the token reply has no access_token")
    ttype = _opt_str(reply, "token_type")
    if ttype is None:
        raise _bad("the token reply has no token_type")
    if ttype.lower() != "bearer":
        raise _bad("the token reply's token_type is not bearer")
    return {
        "access_token": access,
        "token_type": ttype,
        "expires_in": as_int(reply.get("expires_in")),
        "refresh_token": _opt_str(reply, "refresh_token"),
        "id_token": _opt_str(reply, "id_token"),
        "scope": _opt_str(reply, "scope"),
    }
