"""Regenerate tests/unit/jwt_fixtures.py (CPython only: cryptography + PyJWT).

    .venv/bin/python tests/make_jwt_fixtures.py

Makes fresh 2048-bit RSA keys, a JWKS holding two of them, and ID tokens that
each break exactly one rule of OpenID Connect Core 3.1.3.7, then writes them as
Python literals so the unit tests run on MicroPython without generating anything.
"""
import base64
import hashlib
import hmac
import json
import os
import pprint

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

NOW = 1800000000
ISSUER = "https://example-tenant.us.auth0.com/"
CLIENT_ID = "dEv1ceFl0wCl1entId"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unit", "jwt_fixtures.py")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_int(i):
    return b64u(i.to_bytes((i.bit_length() + 7) // 8, "big"))


def new_key(e=65537):
    return rsa.generate_private_key(public_exponent=e, key_size=2048)


def jwk(key, kid):
    pub = key.public_key().public_numbers()
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64u_int(pub.n), "e": b64u_int(pub.e)}


def pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def claims(**over):
    c = {"iss": ISSUER, "sub": "auth0|user42", "aud": CLIENT_ID, "iat": NOW - 60, "exp": NOW + 3600, "name": "Ada"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(key, kid, payload, headers=None):
    h = {"kid": kid} if kid is not None else {}
    h.update(headers or {})
    return jwt.encode(payload, key, algorithm="RS256", headers=h)


def unsigned(header, payload, signature=b""):
    return "%s.%s.%s" % (b64u(json.dumps(header).encode()), b64u(json.dumps(payload).encode()), b64u(signature))


def flip_last_sig_byte(token):
    head, body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[-1] ^= 1
    return "%s.%s.%s" % (head, body, b64u(bytes(raw)))


def swap_payload(token, payload):
    head, _, sig = token.split(".")
    return "%s.%s.%s" % (head, b64u(json.dumps(payload).encode()), sig)


def bleichenbacher_forgery(n, message):
    """A signature whose cube starts with 00 01 FF 00 DigestInfo H: accepted by a prefix check."""
    k = (n.bit_length() + 7) // 8
    prefix = b"\x00\x01\xff\x00" + bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(message).digest()
    target = int.from_bytes(prefix + b"\x00" * (k - len(prefix)), "big")
    lo, hi = 0, 1 << ((k * 8) // 3 + 2)
    while lo < hi:  # smallest s with s**3 >= target
        mid = (lo + hi) // 2
        if mid ** 3 < target:
            lo = mid + 1
        else:
            hi = mid
    s = lo
    em = (s ** 3).to_bytes(k, "big")
    assert s ** 3 < n and em.startswith(prefix), "forgery does not have the prefix"
    return s.to_bytes(k, "big")


def main():
    k1, k2, stray, e3 = new_key(), new_key(), new_key(), new_key(3)
    jwks = {"keys": [jwk(k1, "k1"), jwk(k2, "k2"),
                     {"kty": "EC", "use": "sig", "kid": "ec1", "crv": "P-256", "x": "AA", "y": "AA"},
                     dict(jwk(stray, "enc1"), use="enc")]}
    good = claims()
    t = {}
    t["valid"] = sign(k1, "k1", good)
    t["valid_k2"] = sign(k2, "k2", good)
    t["no_kid"] = sign(k2, None, good)
    t["tampered_signature"] = flip_last_sig_byte(t["valid"])
    t["tampered_payload"] = swap_payload(t["valid"], claims(sub="auth0|attacker"))
    t["wrong_key_for_kid"] = sign(k2, "k1", good)
    t["unknown_kid"] = sign(stray, "k9", good)
    t["enc_key_kid"] = sign(stray, "enc1", good)
    t["wrong_iss"] = sign(k1, "k1", claims(iss="https://example-tenant.us.auth0.com"))
    t["wrong_aud"] = sign(k1, "k1", claims(aud="someOtherClient"))
    t["aud_list_ok"] = sign(k1, "k1", claims(aud=["https://api.example.com", CLIENT_ID], azp=CLIENT_ID))
    t["aud_list_bad"] = sign(k1, "k1", claims(aud=["https://api.example.com", "someOtherClient"]))
    t["aud_list_no_azp"] = sign(k1, "k1", claims(aud=["https://api.example.com", CLIENT_ID]))
    t["aud_list_of_one"] = sign(k1, "k1", claims(aud=[CLIENT_ID]))
    t["azp_mismatch"] = sign(k1, "k1", claims(azp="someOtherClient"))
    t["expired"] = sign(k1, "k1", claims(iat=NOW - 7200, exp=NOW - 301))
    t["expired_within_skew"] = sign(k1, "k1", claims(iat=NOW - 7200, exp=NOW - 299))
    t["iat_future"] = sign(k1, "k1", claims(iat=NOW + 301, exp=NOW + 4000))
    t["iat_future_within_skew"] = sign(k1, "k1", claims(iat=NOW + 299, exp=NOW + 4000))
    t["nbf_future"] = sign(k1, "k1", claims(nbf=NOW + 900))
    t["no_exp"] = sign(k1, "k1", claims(exp=None))
    t["alg_none"] = unsigned({"alg": "none", "typ": "JWT", "kid": "k1"}, good)
    secret = pem(k1)  # the classic confusion: the public key as an HMAC secret
    head_body = unsigned({"alg": "HS256", "typ": "JWT", "kid": "k1"}, good).rsplit(".", 1)[0]
    t["hs256_public_key_secret"] = head_body + "." + b64u(hmac.new(secret, head_body.encode(), hashlib.sha256).digest())
    t["rs512"] = jwt.encode(good, k1, algorithm="RS512", headers={"kid": "k1"})
    t["crit_header"] = sign(k1, "k1", good, {"crit": ["exp"]})

    e3_n = e3.public_key().public_numbers().n
    message = b"the message that was never signed"
    forged = bleichenbacher_forgery(e3_n, message)
    real = e3.sign(message, padding.PKCS1v15(), hashes.SHA256())
    k1_pub = k1.public_key().public_numbers()
    msg_k1 = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"
    sig_k1 = k1.sign(msg_k1, padding.PKCS1v15(), hashes.SHA256())

    out = ["# Generated by tests/make_jwt_fixtures.py: do not edit by hand, rerun it.",
           "# Test keys only: none of this is a secret anywhere.",
           "NOW = %d" % NOW, "ISSUER = %r" % ISSUER, "CLIENT_ID = %r" % CLIENT_ID,
           "JWKS_JSON = %r" % json.dumps(jwks),
           "K1_N = %d" % k1_pub.n, "K1_E = %d" % k1_pub.e,
           "MSG_K1 = %r" % msg_k1, "SIG_K1 = %r" % sig_k1,
           "E3_N = %d" % e3_n, "E3_MSG = %r" % message, "E3_SIG = %r" % real, "E3_FORGED_SIG = %r" % forged,
           "TOKENS = " + pprint.pformat(t, width=110)]
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
