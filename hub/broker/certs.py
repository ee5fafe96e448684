"""A private certificate authority and the relay's TLS server certificate.

Each relay gets its own CA: hubs pin that CA (``ca.crt``), so no public CA, and nobody holding
a certificate from one, can impersonate the relay. Generated with ``cryptography`` alone; no
``openssl`` binary is needed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# P-256 ECDSA: supported by every OpenSSL mosquitto links against and by MicroPython-era TLS
# stacks, and key generation takes milliseconds (RSA-3072 takes seconds on a Pi).
_CURVE: Final = ec.SECP256R1()
# The CA only signs this relay's server certificates; ten years means a hub installed today
# never has to be re-provisioned with a new ca.crt during its service life.
CA_VALIDITY: Final = dt.timedelta(days=3650)
# 825 days is the longest server-certificate lifetime Apple's TLS stack accepts; renewing
# needs only the CA key, which setup keeps next to the certificate.
SERVER_VALIDITY: Final = dt.timedelta(days=825)
# The subject CN is informational only (clients match the SAN), and CN is capped at 64
# characters, so it is fixed rather than the possibly long host name.
SERVER_COMMON_NAME: Final = "Heartline relay"
# Clocks on a freshly booted Pi may lag until NTP syncs; backdating avoids "not yet valid".
CLOCK_SKEW: Final = dt.timedelta(days=1)
# Every relay certificate also names loopback, so tools on the relay machine itself can use
# TLS to 127.0.0.1 with verification on.
LOOPBACK: Final = ipaddress.IPv4Address("127.0.0.1")


@dataclass(frozen=True, slots=True)
class KeyedCertificate:
    """A certificate and its private key, both PEM-encoded."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(_CURVE)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate_ca(common_name: str = "Heartline relay CA") -> KeyedCertificate:
    """A self-signed CA allowed to sign server certificates only (path length 0)."""
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyedCertificate(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def subject_alt_names(host: str) -> list[x509.GeneralName]:
    """SAN entries for ``host`` (a DNS name or an IP literal) plus 127.0.0.1, no duplicates."""
    names: list[x509.GeneralName] = []
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        if not host or any(ch.isspace() for ch in host):
            raise ValueError(
                f"host {host!r} is neither an IP address nor a DNS name; "
                "pass the name hubs use to reach the relay"
            ) from None
        names.append(x509.DNSName(host))
    loopback = x509.IPAddress(LOOPBACK)
    if loopback not in names:
        names.append(loopback)
    return names


def issue_server_certificate(ca: KeyedCertificate, host: str) -> KeyedCertificate:
    """A TLS server certificate for ``host`` (and 127.0.0.1), signed by ``ca``."""
    ca_cert = ca.certificate
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the CA key must be an EC key made by hub.broker.certs.generate_ca")
    key = _new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_COMMON_NAME)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(subject_alt_names(host)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyedCertificate(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))
