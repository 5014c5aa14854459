# RSASSA-PKCS1-v1_5 signature verification with SHA-256 (RFC 8017 section 8.2.2),
# the RS256 of JWS. Public-key operation only: pow(s, e, n) on Python big ints,
# then the whole encoded message is compared with the expected EMSA-PKCS1-v1_5
# encoding built locally. Never a prefix check or an ASN.1 parse, so no
# Bleichenbacher-style forgery (e = 3, garbage after the digest) can pass.
import hashlib

# DER of DigestInfo{ AlgorithmIdentifier{ sha256, NULL }, OCTET STRING(32) } (RFC 8017 9.2 note 1)
_SHA256_PREFIX = b"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"
MIN_MODULUS_BYTES = 256  # 2048-bit keys and up, as every provider publishes


def verify_pkcs1_sha256(n, e, signature, message):
    """True when `signature` (bytes) is a valid RS256 signature of `message` (bytes) by key (n, e)."""
    if not isinstance(n, int) or not isinstance(e, int) or n <= 0 or e < 3 or not e & 1:
        return False
    k = key_size_bytes(n)
    if k < MIN_MODULUS_BYTES or len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    digest = hashlib.sha256(message).digest()
    # expected: 00 01 FF..FF 00 || DigestInfo prefix || digest; compare every byte
    ps_end = k - len(_SHA256_PREFIX) - len(digest) - 1
    diff = em[0] | (em[1] ^ 1) | em[ps_end]
    for i in range(2, ps_end):
        diff |= em[i] ^ 0xFF
    j = ps_end + 1
    for b in _SHA256_PREFIX:
        diff |= em[j] ^ b
        j += 1
    for b in digest:
        diff |= em[j] ^ b
        j += 1
    return diff == 0


def key_size_bytes(n):
    """Smallest k with n < 256**k."""
    k = 0
    while n >= 1 << 64:
        n >>= 64
        k += 8
    while n:
        n >>= 8
        k += 1
    return k
