# base64url (RFC 4648 section 5) for JWTs and JWKs, on MicroPython and CPython.
#
# MicroPython's binascii.a2b_base64 silently skips characters outside the
# alphabet and insists on padding, so every character is checked here first
# and the padding is restored before the C decoder runs.
import binascii

from deviceflow.errors import TokenError

_DASH, _UNDER, _PLUS, _SLASH, _EQ = 45, 95, 43, 47, 61


def _value(c):
    """The 6-bit value of base64url character code c, or -1."""
    if 65 <= c <= 90:
        return c - 65
    if 97 <= c <= 122:
        return c - 71
    if 48 <= c <= 57:
        return c + 4
    if c == _DASH:
        return 62
    if c == _UNDER:
        return 63
    return -1


def b64url_decode(s):
    """Decode base64url text (str or bytes, padding optional) to bytes.

    Raises TokenError('malformed') on any character outside the alphabet, a
    length no encoder produces, misplaced padding or non-zero spare bits.
    """
    if isinstance(s, str):
        try:
            s = s.encode()
        except MemoryError:
            raise
        except Exception:
            raise TokenError("malformed", "base64url")
    elif not isinstance(s, (bytes, bytearray, memoryview)):
        raise TokenError("malformed", "base64url")
    n = len(s)
    while n and s[n - 1] == _EQ:  # optional padding, at the end only
        n -= 1
    if len(s) != n and (len(s) % 4 or len(s) - n > 2):
        raise TokenError("malformed", "base64url padding")
    rem = n % 4
    if rem == 1:
        raise TokenError("malformed", "base64url length")
    buf = bytearray(n + (4 - rem) % 4)
    last = 0
    for i in range(n):
        c = s[i]
        last = _value(c)
        if last < 0:
            raise TokenError("malformed", "base64url character")
        buf[i] = _PLUS if c == _DASH else _SLASH if c == _UNDER else c
    # the final character's unused low bits must be zero (canonical encoding)
    if (rem == 2 and last & 15) or (rem == 3 and last & 3):
        raise TokenError("malformed", "base64url trailing bits")
    for i in range(n, len(buf)):
        buf[i] = _EQ
    try:
        return binascii.a2b_base64(buf)
    except MemoryError:
        raise
    except Exception:
        raise TokenError("malformed", "base64url")


def b64url_encode(b):
    """Encode bytes as base64url without padding; returns bytes."""
    out = bytearray(binascii.b2a_base64(b))
    n = len(out)
    while n and out[n - 1] in (10, _EQ):
        n -= 1
    for i in range(n):
        c = out[i]
        if c == _PLUS:
            out[i] = _DASH
        elif c == _SLASH:
            out[i] = _UNDER
    return bytes(out[:n])
