# ID-token checks (OpenID Connect Core 3.1.3.7): RS256 signatures against the
# provider's JWKS, then iss, aud, azp, exp and iat with a skew allowance.
#
# Every failure is a TokenError whose reason names the check that failed; the
# detail never carries the token or any part of it. A JWKS keeps only the RSA
# signing keys, as (n, e) integers by kid, so the parsed JSON can be freed.
import json

from deviceflow.b64 import b64url_decode
from deviceflow.errors import ReplyError, TokenError
from deviceflow.rsa import MIN_MODULUS_BYTES, key_size_bytes, verify_pkcs1_sha256

MAX_TOKEN_LEN = 16384  # bytes; an ID token is 1-3 KB, anything far bigger is junk
SUPPORTED_ALGS = ("RS256",)


def _as_text(token):
    if isinstance(token, (bytes, bytearray)):
        try:
            token = bytes(token).decode()
        except MemoryError:
            raise
        except Exception:
            raise TokenError("malformed", "not text")
    if not isinstance(token, str):
        raise TokenError("malformed", "not a string")
    if len(token) > MAX_TOKEN_LEN:
        raise TokenError("malformed", "too long")
    return token


def _json_object(segment, what):
    raw = b64url_decode(segment)
    try:
        obj = json.loads(raw)
    except MemoryError:
        raise
    except Exception:
        obj = None
    if not isinstance(obj, dict):
        raise TokenError("malformed", what + " is not a JSON object")
    return obj


def decode(token):
    """Split a compact JWS into (header dict, claims dict, signing_input bytes, signature bytes).

    No check beyond the structure: raises TokenError('malformed').
    """
    token = _as_text(token)
    a = token.find(".")
    b = token.find(".", a + 1) if a >= 0 else -1
    if a <= 0 or b < 0 or token.find(".", b + 1) >= 0 or b == a + 1:
        raise TokenError("malformed", "not three segments")
    header = _json_object(token[:a], "header")
    claims = _json_object(token[a + 1 : b], "payload")
    signature = b64url_decode(token[b + 1 :])
    return header, claims, token[:b].encode(), signature


def unverified_claims(token):
    """The payload of a JWT without any check; for scheduling (exp) only, never for trust."""
    token = _as_text(token)
    a = token.find(".")
    b = token.find(".", a + 1) if a >= 0 else -1
    if a <= 0 or b < 0:
        raise TokenError("malformed", "not a JWT")
    return _json_object(token[a + 1 : b], "payload")


def check_token_type(token_type):
    """RFC 6749 5.1 / RFC 6750: the token_type must be Bearer, compared case-insensitively."""
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError("token_type", "not a bearer token")


def _int_param(jwk, name):
    v = jwk.get(name)
    if not isinstance(v, str) or not v:
        return None
    try:
        return int.from_bytes(b64url_decode(v), "big")
    except TokenError:
        return None


class JWKS:
    """The RSA signature keys of a JSON Web Key Set (RFC 7517), as (n, e) by kid."""

    def __init__(self, keys=None):
        self._keys = keys or {}
        self.kids = list(self._keys)

    @staticmethod
    def parse(body):
        """Parse a JWKS document (bytes, str or dict). Keeps RSA keys with use 'sig' or no use,
        alg RS256 or none, and a modulus of 2048 bits or more; skips every other key.
        Raises ReplyError('bad_reply') when the document is not {"keys": [...]}."""
        if isinstance(body, (bytes, bytearray, str)):
            try:
                body = json.loads(body)
            except MemoryError:
                raise
            except Exception:
                raise ReplyError("bad_reply", "JWKS is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise ReplyError("bad_reply", "JWKS has no keys list")
        keys = {}
        for jwk in body["keys"]:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
                continue
            kid = jwk.get("kid")
            if kid is not None and not isinstance(kid, str):
                continue
            n = _int_param(jwk, "n")
            e = _int_param(jwk, "e")
            if n is None or e is None or e < 3 or not e & 1:
                continue
            if key_size_bytes(n) < MIN_MODULUS_BYTES:
                continue
            if kid not in keys:
                keys[kid] = (n, e)
        return JWKS(keys)

    def key(self, kid):
        """(n, e) for kid, or None."""
        return self._keys.get(kid)

    def __len__(self):
        return len(self._keys)


def _number(claims, name):
    v = claims.get(name)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v


def validate_id_token(token, jwks, issuer, client_id, now, skew_s=300, algs=("RS256",)):
    """Check an ID token and return its claims.

    issuer: the exact `iss` expected, i.e. the `issuer` discovery published when discovery was
    used (Auth0 publishes "https://tenant/" for a configured "https://tenant").

    Raises TokenError with reason 'malformed', 'alg', 'unknown_kid' (re-fetch the JWKS once),
    'signature', 'iss', 'aud', 'azp', 'clock_unset', 'exp' or 'iat'. The checks run in that
    order, so 'clock_unset' (now is None) means every check that does not need the date
    passed; that error carries the verified claims as `.claims` for the app to decide.
    """
    header, claims, signing_input, signature = decode(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algs or alg not in SUPPORTED_ALGS:
        raise TokenError("alg", "algorithm not accepted")
    if "crit" in header:
        raise TokenError("malformed", "unsupported critical header")
    kid = header.get("kid")
    if kid is not None:
        if not isinstance(kid, str) or jwks.key(kid) is None:
            raise TokenError("unknown_kid", "signing key not in JWKS")
        candidates = (jwks.key(kid),)
    else:
        candidates = [jwks.key(k) for k in jwks.kids]
        if not candidates:
            raise TokenError("unknown_kid", "JWKS has no signing key")
    ok = False
    for n, e in candidates:
        if verify_pkcs1_sha256(n, e, signature, signing_input):
            ok = True
            break
    signing_input = signature = None
    if not ok:
        raise TokenError("signature", "signature does not verify")

    if claims.get("iss") != issuer:
        raise TokenError("iss", "issuer mismatch")
    aud = claims.get("aud")
    if isinstance(aud, str):
        aud_ok = aud == client_id
    elif isinstance(aud, list):
        aud_ok = client_id in aud
    else:
        aud_ok = False
    if not aud_ok:
        raise TokenError("aud", "audience does not contain this client")
    # Core 3.1.3.7 items 4-5: a token for several audiences must name the party it was issued to.
    if "azp" in claims or (isinstance(aud, list) and len(aud) > 1):
        if claims.get("azp") != client_id:
            raise TokenError("azp", "authorized party missing or another client")

    exp = _number(claims, "exp")
    iat = _number(claims, "iat")
    if exp is None:
        raise TokenError("exp", "missing expiry")
    if iat is None:
        raise TokenError("iat", "missing issue time")
    if now is None:
        err = TokenError("clock_unset", "wall clock not set")
        err.claims = claims
        raise err
    if now > exp + skew_s:
        raise TokenError("exp", "token expired")
    if iat > now + skew_s:
        raise TokenError("iat", "issued in the future")
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now + skew_s:
        raise TokenError("iat", "not valid yet (nbf)")
    return claims
