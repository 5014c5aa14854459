# HMAC-SHA256 (RFC 2104) for the token store's integrity tag.
#
# Uses the `hmac` module when one is importable (CPython's, or micropython-lib's
# after `mip install hmac`), else a minimal RFC 2104 construction over
# hashlib.sha256. compare() is constant-time in the length of its inputs
# (micropython-lib's hmac has no compare_digest). On MicroPython `hmac` is imported
# for each digest and dropped after it: the store signs rarely, and its code would
# otherwise stay in the heap all the time (deviceflow/phase.py).
import hashlib
import sys

BLOCK = 64
DIGEST_SIZE = 32
_KEEP = sys.implementation.name != "micropython"


def fallback_digest(key, *parts):
    """HMAC-SHA256(key, concatenation of parts) with nothing but hashlib.sha256."""
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    ipad = bytearray(BLOCK)
    opad = bytearray(BLOCK)
    for i in range(len(key)):
        ipad[i] = key[i]
        opad[i] = key[i]
    for i in range(BLOCK):
        ipad[i] ^= 0x36
        opad[i] ^= 0x5C
    inner = hashlib.sha256(ipad)
    for p in parts:
        inner.update(p)
    outer = hashlib.sha256(opad)
    outer.update(inner.digest())
    return outer.digest()


def digest(key, *parts):
    """HMAC-SHA256(key, concatenation of parts): 32 bytes. Parts are hashed in turn, never joined."""
    try:
        import hmac
    except ImportError:
        return fallback_digest(key, *parts)
    try:
        h = hmac.new(key, None, hashlib.sha256)
        for p in parts:
            h.update(p)
        return h.digest()
    except Exception:
        return fallback_digest(key, *parts)  # an hmac module that cannot do this on this port
    finally:
        if not _KEEP:
            from deviceflow.phase import drop

            del hmac
            drop("hmac")


def compare(a, b):
    """True when a == b, taking the same time wherever they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
