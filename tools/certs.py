"""Locally generated TLS material for the stub server and the tests (CPython only).

    python tools/certs.py DIR      # writes the set below into DIR (idempotent)

Files written (PEM unless .der):
  ca.pem, ca.der                 the test CA the device is told to trust
  server.pem, server.key         leaf for localhost and 127.0.0.1, signed by the CA
  wronghost.pem, wronghost.key   leaf for wrong.example only, signed by the CA
  expired.pem, expired.key       leaf for localhost, signed by the CA, expired
  selfsigned.pem, selfsigned.key self-signed leaf for localhost (not from the CA)
  other-ca.pem, other-ca.der     a second CA nobody trusts (for "untrusted CA" tests)
  untrusted.pem, untrusted.key   leaf for localhost signed by other-ca
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ONE_DAY = datetime.timedelta(days=1)


def _key():
    # P-256 keeps handshakes quick on the MicroPython Unix port and on ESP32 mbedTLS.
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(cn):
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - ONE_DAY).not_valid_after(now + 3650 * ONE_DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_leaf(hosts, issuer_cert=None, issuer_key=None, expired=False):
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    if expired:
        start, end = now - 30 * ONE_DAY, now - 2 * ONE_DAY
    else:
        start, end = now - ONE_DAY, now + 825 * ONE_DAY
    sans = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    subject = _name(hosts[0])
    issuer = issuer_cert.subject if issuer_cert is not None else subject
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(issuer_key if issuer_key is not None else key, hashes.SHA256()))
    return cert, key


def write_all(directory):
    """Create the full set in `directory` unless it is already there; return the directory."""
    os.makedirs(directory, exist_ok=True)
    if os.path.exists(os.path.join(directory, "untrusted.key")):
        return directory
    p = lambda n: os.path.join(directory, n)  # noqa: E731
    ca, ca_key = make_ca("deviceflow test CA")
    _write(p("ca.pem"), ca.public_bytes(serialization.Encoding.PEM))
    _write(p("ca.der"), ca.public_bytes(serialization.Encoding.DER))
    other, other_key = make_ca("untrusted test CA")
    _write(p("other-ca.pem"), other.public_bytes(serialization.Encoding.PEM))
    _write(p("other-ca.der"), other.public_bytes(serialization.Encoding.DER))
    leaves = {
        "server": make_leaf(["localhost", "127.0.0.1"], ca, ca_key),
        "wronghost": make_leaf(["wrong.example"], ca, ca_key),
        "expired": make_leaf(["localhost", "127.0.0.1"], ca, ca_key, expired=True),
        "selfsigned": make_leaf(["localhost", "127.0.0.1"]),
        "untrusted": make_leaf(["localhost", "127.0.0.1"], other, other_key),
    }
    for name, (cert, key) in leaves.items():
        _write(p(name + ".pem"), cert.public_bytes(serialization.Encoding.PEM))
        _write(p(name + ".key"), _pem_key(key))  # written last: marks the set complete
    return directory


if __name__ == "__main__":
    print(write_all(sys.argv[1] if len(sys.argv) > 1 else "var/certs"))
