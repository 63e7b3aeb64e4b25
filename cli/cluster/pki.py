"""A certificate authority small enough to read: make a CA, issue certificates from it.

Identities live in certificates the way Kubernetes reads them: the subject's CN is the
user name and each O is a group (`CN=system:node:n1, O=system:nodes`). Keys are ECDSA
P-256: handshakes are several times cheaper than RSA-2048's and every peer here (gRPC's
BoringSSL, Go's etcd, Python's ssl) accepts them. Private keys are written 0600 and never
leave the cluster's folder; certificates are public.

Every leaf carries its usages (serverAuth and/or clientAuth), so a client certificate can
never serve as a server's and the other way round, and a server certificate names every
address and DNS name it is reached by (IP SANs for loopback and node addresses).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_VALID_DAYS",
    "LEAF_VALID_DAYS",
    "CertificateAuthority",
    "KeyPair",
    "new_signing_key",
    "write_private",
    "write_public",
]

CA_VALID_DAYS = 3650
LEAF_VALID_DAYS = 365
_SKEW = datetime.timedelta(minutes=5)
"""Certificates start a little in the past, so a peer whose clock runs behind accepts them."""


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, PEM-encoded."""

    cert: bytes
    key: bytes


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organizations: Iterable[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """Signatures only (ECDSA keys never encipher); a CA also signs certificates and CRLs."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _san(hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


class CertificateAuthority:
    """A CA's certificate and key; `issue` signs leaf certificates."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.cert = cert
        self.key = key

    @classmethod
    def create(cls, common_name: str, *, valid_days: int = CA_VALID_DAYS) -> CertificateAuthority:
        """A new self-signed CA."""
        key = _new_key()
        now = datetime.datetime.now(datetime.UTC)
        subject = _name(common_name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW)
            .not_valid_after(now + datetime.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signs_certificates=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        """A CA saved by `save`."""
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: expected an ECDSA private key")
        return cls(cert, key)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def save(self, cert_path: Path, key_path: Path) -> None:
        """Write the certificate (0644) and the key (0600)."""
        write_public(cert_path, self.cert_pem)
        write_private(key_path, _key_pem(self.key))

    def issue(
        self,
        common_name: str,
        *,
        organizations: Iterable[str] = (),
        client: bool = False,
        server: bool = False,
        hosts: Iterable[str] = (),
        valid_days: int = LEAF_VALID_DAYS,
        not_before: datetime.datetime | None = None,
    ) -> KeyPair:
        """A leaf certificate for `common_name` (the user) in `organizations` (the groups).

        `server` certificates name `hosts` (IP addresses and DNS names) as their SANs;
        `client` ones may be used to authenticate to a server. `not_before` (default now)
        lets tests make certificates that have already expired.
        """
        if not client and not server:
            raise ValueError("a certificate must be for a client, a server or both")
        hosts = list(hosts)
        if server and not hosts:
            raise ValueError(f"the server certificate of {common_name} names no host")
        key = _new_key()
        start = not_before or datetime.datetime.now(datetime.UTC)
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organizations))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start - _SKEW)
            .not_valid_after(start + datetime.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signs_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName(_san(hosts)), False)
        cert = builder.sign(self.key, hashes.SHA256())
        return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def new_signing_key() -> KeyPair:
    """An ECDSA P-256 key pair for signing ServiceAccount tokens (ES256, which
    kube-apiserver accepts as it does RSA, at about a third of RSA-2048's cost per token);
    `cert` holds the public key in PEM, which is what verifiers need."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(public, _key_pem(key))


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (0600), never briefly wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.replace(path)


def write_public(path: Path, data: bytes) -> None:
    """Write a public file (0644) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    tmp.replace(path)
