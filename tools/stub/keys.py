"""RS256 keys for the stub: sign access and ID tokens, check bearer tokens, serve the JWKS.

Like Auth0, the JWKS holds two keys (the signing key and the next one), each with a kid and an
x5c certificate, so clients must pick the key by kid. Keys are kept in the state directory so a
restarted stub still accepts the tokens it issued before.
"""
import base64
import datetime
import hashlib
import json
import os

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _load_or_create(path):
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if path:
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.replace(tmp, path)
    return key


def _self_signed_der(key, cn):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


class SigningKeys:
    """Two RSA keys; the first signs. `jwks` is the document served at /.well-known/jwks.json."""

    def __init__(self, state_dir=None):
        self.keys = []  # [(kid, private key)]
        jwk_list = []
        for i in range(2):
            path = os.path.join(state_dir, "jwt-key-%d.pem" % i) if state_dir else None
            key = _load_or_create(path)
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            # RFC 7638 thumbprint: stable across restarts for the same key.
            canon = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
            kid = _b64url(hashlib.sha256(canon.encode()).digest())[:32]
            der = _self_signed_der(key, "deviceflow-stub")
            jwk_list.append({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                             "n": jwk["n"], "e": jwk["e"],
                             "x5t": _b64url(hashlib.sha1(der).digest()),
                             "x5c": [base64.b64encode(der).decode("ascii")]})
            self.keys.append((kid, key))
        self.jwks = {"keys": jwk_list}

    def sign(self, claims):
        kid, key = self.keys[0]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})

    def check(self, token, issuer, audience=None):
        """Return the claims of a token this stub signed, still valid; raise jwt.InvalidTokenError."""
        kid = jwt.get_unverified_header(token).get("kid")
        for k, key in self.keys:
            if k == kid:
                options = {"require": ["exp", "iat", "sub"], "verify_aud": audience is not None}
                return jwt.decode(token, key.public_key(), algorithms=["RS256"], issuer=issuer,
                                  audience=audience, options=options)
        raise jwt.InvalidTokenError("unknown kid")
