"""User codes as an Auth0 tenant configures them (Dashboard > Settings > Advanced > Device Flow
User Code Format; the Management API's `device_flow` {charset, mask}):

- `user_code_charset`: "base20" (BCDFGHJKLMNPQRSTVWXZ, no vowels, no look-alikes) or "digits";
- `user_code_mask`: up to 20 characters, "*" for a code character, "-" or " " as separators.

The activation page takes a code as a person types it: separators and case do not matter.
"""
import secrets

CHARSETS = {"base20": "BCDFGHJKLMNPQRSTVWXZ", "digits": "0123456789"}
DEFAULT_CHARSET = "base20"
DEFAULT_MASK = "****-****"
MAX_MASK = 20


def check(charset, mask):
    """Raise ValueError for settings Auth0 would refuse."""
    if charset not in CHARSETS:
        raise ValueError("user_code_charset must be one of " + ", ".join(sorted(CHARSETS)))
    if not isinstance(mask, str) or not 1 <= len(mask) <= MAX_MASK or "*" not in mask \
            or any(ch not in "*- " for ch in mask):
        raise ValueError("user_code_mask: 1-%d characters of '*', '-' and ' ', at least one '*'" % MAX_MASK)


def generate(charset, mask):
    """A fresh code in the mask's shape, e.g. "WDJB-MJHT"."""
    chars = CHARSETS[charset]
    return "".join(secrets.choice(chars) if ch == "*" else ch for ch in mask)


def key(text, charset):
    """What a person typed -> the code's characters alone (separators, spaces and case
    forgiven), or None when it cannot be a code of this charset."""
    c = "".join(ch for ch in (text or "").upper() if ch not in "- \t")
    if not c or any(ch not in CHARSETS[charset] for ch in c):
        return None
    return c
