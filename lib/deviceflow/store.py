# The token store: one JSON record in flash, replaced atomically, tagged with
# HMAC-SHA256 under a per-device key kept in its own file.
#
# File format (version 1), bytes:
#
#     DFTS1 <L>\n          magic, version and the record's length in bytes (decimal)
#     <L bytes of JSON>    the record, json.dumps of a dict (never contains a raw newline)
#     \n<64 hex>\n         HMAC-SHA256(key, first line + record), lowercase hex
#
# The length is inside the tagged bytes, so a file cut short is told apart from
# one that was changed: load() sets last_error to 'truncated' (shorter than its
# header says, or empty), 'tampered' (the tag does not match: edited, bit-rotted
# or written under another key) or 'corrupt' (anything else: wrong magic, junk,
# too large, unreadable), returns None and never raises on any file content.
# MemoryError alone passes through: it says nothing about the file, and calling
# the store corrupt on it would sign the device out.
#
# save() writes <path>.tmp, flushes and syncs it, then renames it over <path>:
# LittleFS and POSIX renames replace the old file in one step, so after a power
# cut the file holds either the old record or the new one (on FAT, MicroPython
# removes the old file before the rename: a cut there loses the record). A stale .tmp left by
# a cut is removed by the next load(). The tag proves integrity, not secrecy:
# tokens at rest are readable by anyone with the flash (no flash encryption). On a Unix host
# every file is created 0600 (see _create_private).
import json
import os
from binascii import hexlify

from deviceflow import hmac_sha256
from deviceflow.errors import StoreError

MAGIC = b"DFTS1 "
KEY_SIZE = 32
MAX_RECORD = 12288  # bytes of JSON: an access, refresh and ID token with room to spare
_TAG_HEX = 64
_MAX_HEADER = len(MAGIC) + 6
MAX_FILE = _MAX_HEADER + MAX_RECORD + _TAG_HEX + 2


def _jsonable(v, depth=0):
    """True for values json.dumps writes as valid JSON on both runtimes (MicroPython's
    json.dumps prints unknown objects, bytes and nan as-is instead of raising)."""
    if v is None or isinstance(v, (bool, int, str)):
        return True
    if isinstance(v, float):
        return v == v and v not in (float("inf"), float("-inf"))
    if depth > 16:
        return False
    if isinstance(v, (list, tuple)):
        for x in v:
            if not _jsonable(x, depth + 1):
                return False
        return True
    if isinstance(v, dict):
        for k in v:
            if not isinstance(k, str) or not _jsonable(v[k], depth + 1):
                return False
        return True
    return False


def _missing(err):
    return (getattr(err, "errno", None) or (err.args[0] if err.args else None)) == 2  # ENOENT


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _sync_file(f):
    f.flush()
    if hasattr(os, "fsync"):
        os.fsync(f.fileno())


def _sync_dir(path):
    """CPython: make the rename itself durable. MicroPython: os.sync() if the port has it."""
    if hasattr(os, "sync"):
        os.sync()
    if hasattr(os, "open") and hasattr(os, "fsync"):
        d = path.rsplit("/", 1)[0] if "/" in path else "."
        try:
            fd = os.open(d or "/", os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass


def _create_private(path):
    """Create `path` empty, readable by its owner only (0600), where the port has permissions.

    CPython: os.open with the mode. MicroPython's Unix port has neither os.open nor chmod: the
    shell creates the file under umask 077 (open() then truncates it and keeps that mode). On
    an ESP32 (LittleFS/FAT) files have no owner or mode, and there is nothing to do.
    """
    _remove_quietly(path)  # O_CREAT keeps the mode of a file that is already there
    if hasattr(os, "open") and hasattr(os, "O_CREAT"):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    elif hasattr(os, "system") and "'" not in path:
        os.system("(umask 077 && : > '%s') 2>/dev/null" % path)


def _write_atomically(path, parts):
    tmp = path + ".tmp"
    try:
        _create_private(tmp)
        with open(tmp, "wb") as f:
            for p in parts:
                if f.write(p) != len(p):
                    raise OSError(28)  # short write: treat as out of space
            _sync_file(f)
        getattr(os, "replace", os.rename)(tmp, path)
    except OSError:
        _remove_quietly(tmp)
        raise StoreError("write_failed", "could not write " + path.rsplit("/", 1)[-1])
    _sync_dir(path)


def load_or_create_key(path, urandom=None):
    """The device's 32-byte store key from `path`, created once from os.urandom.

    A missing, short or over-long key file is replaced with a fresh key; the
    store written under the old key then loads as 'tampered'.
    """
    try:
        with open(path, "rb") as f:
            key = f.read(KEY_SIZE + 1)
        if len(key) == KEY_SIZE:
            if os.stat(path)[0] & 0o077:  # written by an older version readable by all: 0600
                _write_atomically(path, (key,))
            return key
    except OSError:
        pass
    rand = urandom or getattr(os, "urandom", None)
    if rand is None:
        raise StoreError("no_random", "no random source for the store key")
    key = bytes(rand(KEY_SIZE))
    if len(key) != KEY_SIZE:
        raise StoreError("no_random", "random source gave a short key")
    _write_atomically(path, (key,))
    return key


def bound_mismatch(record, binding):
    """The first key of `binding` whose value `record` does not hold, or None when all match.

    Tokens and caches are bound to whom they were obtained for (issuer, client_id, ...): a
    device re-provisioned for another tenant must never send the old tenant's refresh token.
    """
    for key in binding:
        if record.get(key) != binding[key]:
            return key
    return None


class TokenStore:
    """One integrity-tagged JSON record at `path` under HMAC key `key` (bytes)."""

    def __init__(self, path, key):
        if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
            raise StoreError("bad_key", "store key must be 16 bytes or more")
        self.path = path
        self._key = bytes(key)
        self.last_error = None
        self.last_error_detail = ""

    def sibling(self, path):
        """A store for another file under the same device key (the discovery and JWKS caches)."""
        return TokenStore(path, self._key)

    def _fail(self, reason, detail):
        self.last_error = reason
        self.last_error_detail = detail
        return None

    def load(self):
        """The stored record (a dict), or None: absent, or unusable with last_error set."""
        self.last_error = None
        self.last_error_detail = ""
        _remove_quietly(self.path + ".tmp")
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, 2)  # read exactly the file, never a worst-case buffer
                if size > MAX_FILE:
                    return self._fail("corrupt", "store file too large")
                f.seek(0)
                data = f.read(size) if size else b""
        except OSError as e:
            if _missing(e):
                return None
            return self._fail("corrupt", "store file unreadable")
        try:
            return self._parse(data)
        except MemoryError:
            raise
        except Exception:  # belt and braces: no file content may raise
            return self._fail("corrupt", "store file unreadable")

    def _parse(self, data):
        n = len(data)
        if n > MAX_FILE:
            return self._fail("corrupt", "store file too large")
        if n == 0:
            return self._fail("truncated", "store file empty")
        nl = data.find(b"\n", 0, _MAX_HEADER + 1)
        if nl < 0:
            if n <= _MAX_HEADER and (MAGIC.startswith(data) or data.startswith(MAGIC)):
                return self._fail("truncated", "store header cut short")
            return self._fail("corrupt", "not a token store")
        digits = data[len(MAGIC) : nl]
        if not data.startswith(MAGIC) or not digits or not digits.isdigit():
            return self._fail("corrupt", "not a token store")
        length = int(digits)
        if length > MAX_RECORD:
            return self._fail("corrupt", "record too large")
        start = nl + 1
        end = start + length
        total = end + 1 + _TAG_HEX + 1
        if n < total:
            return self._fail("truncated", "store file cut short")
        if n > total:
            return self._fail("corrupt", "bytes after the tag")
        if data[end] != 10 or data[n - 1] != 10:
            return self._fail("corrupt", "bad record framing")
        mv = memoryview(data)
        want = hexlify(hmac_sha256.digest(self._key, mv[:start], mv[start:end]))
        if not hmac_sha256.compare(mv[end + 1 : n - 1], want):  # lowercase hex only
            return self._fail("tampered", "integrity tag does not match")
        try:
            record = json.loads(bytes(mv[start:end]))
        except MemoryError:
            raise
        except Exception:
            record = None
        if not isinstance(record, dict):
            return self._fail("corrupt", "record is not a JSON object")
        return record

    def save(self, record):
        """Replace the stored record atomically; raises StoreError, leaving the old record intact."""
        if not isinstance(record, dict) or not _jsonable(record):
            raise StoreError("bad_record", "record must be a dict of JSON values")
        try:
            body = json.dumps(record)
        except MemoryError:
            raise
        except Exception:
            raise StoreError("bad_record", "record is not JSON-able")
        try:
            body = memoryview(body)  # MicroPython: a str is a buffer of its UTF-8 bytes, no copy
        except TypeError:
            body = body.encode()  # CPython
        if len(body) > MAX_RECORD:
            raise StoreError("too_large", "record over %d bytes" % MAX_RECORD)
        header = MAGIC + str(len(body)).encode() + b"\n"
        tag = hexlify(hmac_sha256.digest(self._key, header, body))
        _write_atomically(self.path, (header, body, b"\n", tag, b"\n"))

    def clear(self):
        """Remove the stored record and any stale temporary file."""
        _remove_quietly(self.path + ".tmp")
        try:
            os.remove(self.path)
        except OSError as e:
            if not _missing(e):
                raise StoreError("remove_failed", "could not remove the token store")
        _sync_dir(self.path)
