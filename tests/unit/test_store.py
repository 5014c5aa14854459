# The token store: atomic replace, integrity tag, and never a crash on a bad file.
import os
from binascii import unhexlify

from check import raises, tmpdir

from deviceflow import hmac_sha256
from deviceflow.errors import StoreError
from deviceflow.store import TokenStore, load_or_create_key

KEY = b"k" * 32
RECORD = {"access_token": "at-secret-123", "refresh_token": "rt-7", "expires_at": 1800003600,
          "scope": "openid offline_access", "nested": {"a": [1, 2.5, None, True]}, "text": "caf\u00e9\nline"}


def fresh(key=KEY):
    d = tmpdir()
    return d, TokenStore(d + "/tokens.json", key)


def raw(path):
    with open(path, "rb") as f:
        return f.read()


def put(path, data):
    with open(path, "wb") as f:
        f.write(data)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


# --- HMAC-SHA256 -----------------------------------------------------------------

RFC4231 = [  # (key, data, HMAC-SHA256 hex), RFC 4231 section 4, test cases 1-4, 6, 7
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data."
     b" The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]


def test_hmac_fallback_matches_rfc4231():
    for key, data, want in RFC4231:
        assert hmac_sha256.fallback_digest(key, data) == unhexlify(want)
        assert hmac_sha256.digest(key, data) == unhexlify(want)


def test_hmac_rfc4231_case5_truncated():
    tag = hmac_sha256.fallback_digest(b"\x0c" * 20, b"Test With Truncation")
    assert tag[:16] == unhexlify("a3b6167473100ee06e0c796c2955552b")


def test_hmac_parts_hash_like_their_concatenation():
    key, data, want = RFC4231[1]
    assert hmac_sha256.fallback_digest(key, data[:5], data[5:9], b"", data[9:]) == unhexlify(want)
    assert hmac_sha256.digest(key, memoryview(data)[:7], data[7:]) == unhexlify(want)


def test_hmac_compare():
    a = hmac_sha256.digest(KEY, b"x")
    assert hmac_sha256.compare(a, bytes(a))
    assert not hmac_sha256.compare(a, a[:31] + bytes([a[31] ^ 1]))
    assert not hmac_sha256.compare(a, a[:31])
    assert not hmac_sha256.compare(a, b"")


# --- save / load -------------------------------------------------------------------

def test_absent_store_loads_none_without_error():
    _, s = fresh()
    assert s.load() is None and s.last_error is None


def test_record_round_trips_across_a_reboot():
    d, s = fresh()
    s.save(RECORD)
    again = TokenStore(d + "/tokens.json", KEY)  # a new instance, as after a reboot
    assert again.load() == RECORD and again.last_error is None


def test_save_replaces_the_previous_record_and_leaves_no_tmp():
    d, s = fresh()
    s.save({"refresh_token": "rt-1"})
    s.save({"refresh_token": "rt-2"})
    assert s.load() == {"refresh_token": "rt-2"}
    assert sorted(os.listdir(d)) == ["tokens.json"]


def test_every_truncation_is_reported_as_truncated():
    d, s = fresh()
    s.save(RECORD)
    full = raw(s.path)
    for n in range(len(full)):
        put(s.path, full[:n])
        assert s.load() is None, n
        assert s.last_error == "truncated", (n, s.last_error)


def test_changed_record_is_tampered():
    d, s = fresh()
    s.save({"refresh_token": "rt-1111"})
    data = raw(s.path)
    put(s.path, data.replace(b"rt-1111", b"rt-2222"))
    assert s.load() is None and s.last_error == "tampered"


def test_every_single_byte_change_is_caught():
    d, s = fresh()
    s.save({"refresh_token": "rt-1", "n": 5})
    data = bytearray(raw(s.path))
    for i in range(len(data)):
        for flip in (1, 0x20):
            bad = bytearray(data)
            bad[i] ^= flip
            put(s.path, bad)
            assert s.load() is None, (i, flip)
            assert s.last_error in ("corrupt", "truncated", "tampered"), (i, s.last_error)


def test_store_written_under_another_key_is_tampered():
    d, s = fresh()
    s.save(RECORD)
    other = TokenStore(s.path, b"o" * 32)
    assert other.load() is None and other.last_error == "tampered"


def test_garbage_files_are_corrupt_and_never_raise():
    d, s = fresh()
    cases = [b"{}", b'{"access_token": "x"}', b"<html>500</html>", b"\x00" * 100, b"\xff\xfe\xfd",
             b"DFTS1 \n", b"DFTS1 abc\n{}\n", b"DFTS1 -5\n{}", b"DFTS1 99999999999\nx", b"dfts1 2\n{}\n",
             b"DFTS2 2\n{}\n" + b"0" * 64 + b"\n"]
    for c in cases:
        put(s.path, c)
        assert s.load() is None, c
        assert s.last_error == "corrupt", (c, s.last_error)
    for n in range(1, 200, 7):  # random junk of many sizes
        put(s.path, os.urandom(n))
        assert s.load() is None
        assert s.last_error in ("corrupt", "truncated"), s.last_error


def test_empty_file_is_truncated():
    d, s = fresh()
    put(s.path, b"")
    assert s.load() is None and s.last_error == "truncated"


def test_huge_file_is_corrupt_without_reading_it_all():
    d, s = fresh()
    with open(s.path, "wb") as f:
        chunk = b"A" * 4096
        for _ in range(256):  # 1 MiB
            f.write(chunk)
    assert s.load() is None and s.last_error == "corrupt"


def test_valid_tag_over_a_non_object_is_corrupt():
    d, s = fresh()
    header = b"DFTS1 7\n"
    body = b"[1,2,3]"
    from binascii import hexlify

    put(s.path, header + body + b"\n" + hexlify(hmac_sha256.digest(KEY, header, body)) + b"\n")
    assert s.load() is None and s.last_error == "corrupt"


def test_trailing_bytes_after_the_tag_are_corrupt():
    d, s = fresh()
    s.save(RECORD)
    put(s.path, raw(s.path) + b"x")
    assert s.load() is None and s.last_error == "corrupt"


def test_a_directory_where_the_file_should_be_is_corrupt():
    d, s = fresh()
    os.mkdir(s.path)
    assert s.load() is None and s.last_error == "corrupt"


def test_last_error_resets_on_a_good_load():
    d, s = fresh()
    put(s.path, b"junk")
    s.load()
    assert s.last_error == "corrupt" and s.last_error_detail
    s.save(RECORD)
    assert s.load() == RECORD and s.last_error is None and s.last_error_detail == ""


def test_stale_tmp_from_an_interrupted_write_is_ignored_and_removed():
    d, s = fresh()
    s.save({"refresh_token": "rt-1"})
    put(s.path + ".tmp", b"DFTS1 40\n{\"refresh_token\": \"rt-2")  # cut mid-write
    assert s.load() == {"refresh_token": "rt-1"}
    assert not exists(s.path + ".tmp")


def test_failed_save_keeps_the_old_record():
    d, s = fresh()
    s.save({"refresh_token": "rt-1"})
    os.mkdir(s.path + ".tmp")  # the temporary file cannot be created
    e = raises(StoreError, s.save, {"refresh_token": "rt-2"})
    assert e.reason == "write_failed"
    assert "rt-2" not in str(e)
    assert s.load() == {"refresh_token": "rt-1"}


def test_save_into_a_missing_directory_raises_store_error():
    d = tmpdir()
    s = TokenStore(d + "/no/such/dir/tokens.json", KEY)
    assert raises(StoreError, s.save, RECORD).reason == "write_failed"


def test_bad_records_are_refused_without_touching_the_file():
    d, s = fresh()
    s.save({"refresh_token": "rt-1"})
    e = raises(StoreError, s.save, {"refresh_token": b"rt-bytes-secret"})
    assert e.reason == "bad_record" and "secret" not in str(e)
    assert raises(StoreError, s.save, ["not", "a", "dict"]).reason == "bad_record"
    assert raises(StoreError, s.save, {"blob": "x" * 20000}).reason == "too_large"
    assert s.load() == {"refresh_token": "rt-1"}


def test_short_key_is_refused():
    assert raises(StoreError, TokenStore, "/tmp/x", b"short").reason == "bad_key"


def test_clear_removes_record_and_tmp():
    d, s = fresh()
    s.save(RECORD)
    put(s.path + ".tmp", b"partial")
    s.clear()
    assert os.listdir(d) == []
    assert s.load() is None and s.last_error is None
    s.clear()  # clearing an empty store is fine


# --- the device key -------------------------------------------------------------------

def test_key_is_created_once_and_reused():
    d = tmpdir()
    calls = []

    def rand(n):
        calls.append(n)
        return bytes(range(n))

    k1 = load_or_create_key(d + "/store.key", rand)
    k2 = load_or_create_key(d + "/store.key", rand)
    assert k1 == k2 == bytes(range(32))
    assert calls == [32]
    assert raw(d + "/store.key") == k1
    assert len(load_or_create_key(d + "/other.key")) == 32  # os.urandom by default


def test_two_devices_get_different_keys():
    d = tmpdir()
    assert load_or_create_key(d + "/a.key") != load_or_create_key(d + "/b.key")


def test_corrupt_key_file_is_replaced_and_the_store_reads_as_tampered():
    d = tmpdir()
    key = load_or_create_key(d + "/store.key")
    s = TokenStore(d + "/tokens.json", key)
    s.save(RECORD)
    put(d + "/store.key", key[:20])  # a cut-short key file
    new_key = load_or_create_key(d + "/store.key")
    assert len(new_key) == 32 and new_key != key
    assert load_or_create_key(d + "/store.key") == new_key
    s2 = TokenStore(d + "/tokens.json", new_key)
    assert s2.load() is None and s2.last_error == "tampered"
    s2.save(RECORD)  # signing in again works under the new key
    assert s2.load() == RECORD


def test_key_file_write_failure_raises_store_error():
    d = tmpdir()
    e = raises(StoreError, load_or_create_key, d + "/missing/store.key")
    assert e.reason == "write_failed"


def _mode(path):
    return os.stat(path)[0] & 0o777


def test_key_and_store_files_are_private_to_their_owner():
    # On a Unix host the key and the tokens are readable by their owner only (0600); both
    # runtimes (CPython, and the MicroPython Unix port, which has no os.open or chmod).
    d = tmpdir()
    key = load_or_create_key(d + "/device.key")
    store = TokenStore(d + "/tokens.json", key)
    store.save(RECORD)
    store.save(RECORD)  # a replacement too
    for name in ("device.key", "tokens.json"):
        assert _mode(d + "/" + name) == 0o600, (name, oct(_mode(d + "/" + name)))
    # a key file left readable by all (an older version) is made private, same key
    put(d + "/old.key", b"o" * 32)
    if hasattr(os, "chmod"):
        os.chmod(d + "/old.key", 0o644)
    else:
        os.system("chmod 644 " + d + "/old.key")
    assert _mode(d + "/old.key") == 0o644
    assert load_or_create_key(d + "/old.key") == b"o" * 32
    assert _mode(d + "/old.key") == 0o600


def test_a_sibling_store_shares_the_key_so_a_planted_file_is_refused():
    d, store = fresh()
    cache = store.sibling(d + "/jwks.json")
    cache.save({"keys": [1]})
    assert cache.load() == {"keys": [1]}
    other = TokenStore(d + "/jwks.json", b"x" * 32)  # whoever lacks device.key
    assert other.load() is None and other.last_error == "tampered"
    other.save({"keys": ["planted"]})
    assert cache.load() is None and cache.last_error == "tampered"
