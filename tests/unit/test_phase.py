# Import by phase: deviceflow.phase.drop forgets modules so their code can be collected, and
# what the firmware keeps instead of them (flashstore, the endpoints' caches) still works.
import sys

from check import tmpdir
from deviceflow.phase import DROPS, drop


def test_drop_forgets_a_module_and_its_package_attribute():
    import deviceflow
    from deviceflow import b64

    first = b64
    assert "deviceflow.b64" in sys.modules
    drop("deviceflow.b64")
    if not DROPS:  # CPython: nothing to save, so nothing is dropped
        assert sys.modules["deviceflow.b64"] is first
        return
    assert "deviceflow.b64" not in sys.modules
    assert getattr(deviceflow, "b64", None) is None
    from deviceflow import b64 as again  # a later phase imports it afresh

    assert again is not first
    assert again.b64url_decode("aGk") == b"hi"


def test_drop_of_a_module_never_loaded_is_harmless():
    drop("deviceflow.no_such_module", "nor_this_one")


def test_flashstore_saves_loads_and_clears_with_the_store_code_dropped_between():
    from deviceflow.store import load_or_create_key
    from deviceflow.flashstore import FlashStore

    d = tmpdir()
    store = FlashStore(d + "/tokens.json", load_or_create_key(d + "/device.key"))
    assert store.load() is None and store.last_error is None  # nothing stored yet
    store.save({"access_token": "at", "n": 1})
    assert ("deviceflow.store" in sys.modules) != DROPS  # on a board, its code is in the heap only while it works
    assert store.load() == {"access_token": "at", "n": 1}
    with open(d + "/tokens.json", "rb") as f:
        data = bytearray(f.read())
    data[-10] ^= 1  # a flipped bit in the tag
    with open(d + "/tokens.json", "wb") as f:
        f.write(data)
    assert store.load() is None and store.last_error == "tampered"
    store.clear()
    assert store.load() is None and store.last_error is None


def test_a_flashstore_sibling_uses_the_same_key():
    from deviceflow.store import TokenStore, load_or_create_key
    from deviceflow.flashstore import FlashStore

    d = tmpdir()
    key = load_or_create_key(d + "/device.key")
    FlashStore(d + "/tokens.json", key).sibling(d + "/cache.json").save({"a": 1})
    assert TokenStore(d + "/cache.json", key).load() == {"a": 1}
    assert TokenStore(d + "/cache.json", b"k" * 32).load() is None  # another key: refused


def test_jwks_key_count_by_scan_survives_any_read_boundary():
    import json

    from deviceflow.keys import _count_keys

    d = tmpdir()
    doc = json.dumps({"keys": [{"kty": "RSA", "n": "x" * 300, "e": "AQAB"}, {"kty": "RSA", "n": "y" * 7}]})
    for pad in range(0, 300, 7):  # the patterns land across every 128-byte read boundary
        with open(d + "/jwks", "w") as f:
            f.write(" " * pad + doc)
        assert _count_keys(d + "/jwks") == 2, pad
    with open(d + "/jwks", "w") as f:
        f.write('{"other": []}')
    assert _count_keys(d + "/jwks") is None  # no "keys": not a JWKS
