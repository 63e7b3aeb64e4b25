"""The cluster CA as the csrsigning controller uses it: load it, read a request, sign it.

kube-controller-manager's `pkg/controller/certificates/authority` in Python. `tug up`
makes the CA with cli/cluster/pki.py, but a component never imports another (the
controller manager meets the CLI only through the files it is given), so what signing
needs is written here again, smaller: no key generation, no files written.

Signing follows Kubernetes' PermissiveSigningPolicy, so a certificate from Tugboat looks
like one from Kubernetes: the request's subject, public key and SANs (DNS, IP, email,
URI) are copied and nothing else of it; the usages come from `spec.usages`, never from
the request's own extensions; BasicConstraints CA=false; notBefore five minutes in the
past for peers whose clocks lag; notAfter `lifetime` after notBefore (or after now, for
a lifetime under eight hours, where five minutes would be a large share), never past the
CA's own notAfter.

Everything here is synchronous and called on the event loop: an ECDSA P-256 signature or
verification takes tens of microseconds and RSA-2048's about a millisecond, less than one
API round trip, and a cluster sees a handful of requests a minute at most.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from client.pem import blocks

__all__ = [
    "BACKDATE",
    "SHORT",
    "Authority",
    "AuthorityError",
    "InvalidRequest",
    "SigningKey",
    "alt_names",
    "parse_request",
]

BACKDATE = datetime.timedelta(minutes=5)
"""How far notBefore lies in the past (Kubernetes' signer: 5 min)."""
SHORT = datetime.timedelta(hours=8)
"""Lifetimes below this are not shortened by BACKDATE (Kubernetes: 5 min is ~1% of 8 h)."""

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

# The usage names of certificates.k8s.io/v1, as Kubernetes maps them. Extended usages are
# listed in the order of Go's x509.ExtKeyUsage, the order Kubernetes writes them in.
_KEY_USAGES = {
    "signing": "digital_signature",
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
    "encipher only": "encipher_only",
    "decipher only": "decipher_only",
}
_EXTENDED_USAGES = {
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec end system": ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec tunnel": ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec user": ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft sgc": ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape sgc": ObjectIdentifier("2.16.840.1.113730.4.1"),
}
_EXTENDED_ORDER = list(dict.fromkeys(_EXTENDED_USAGES.values()))
_COPIED_NAMES = (x509.DNSName, x509.IPAddress, x509.RFC822Name, x509.UniformResourceIdentifier)
"""The SAN kinds Go's x509 reads from a request, and so the only ones Kubernetes copies."""


class AuthorityError(ValueError):
    """A CA that cannot be used; the message names the file, `file` says which one."""

    def __init__(self, file: Literal["cert", "key"], message: str) -> None:
        super().__init__(message)
        self.file = file


class InvalidRequest(ValueError):
    """A request that can never be signed as it stands; the message says why."""


def parse_request(pem: bytes) -> x509.CertificateSigningRequest:
    """The PKCS#10 request in `pem`, its signature checked (the requester holds the key)."""
    # The first block as client/pem.py finds it, as the API server found it when it
    # validated the request and judged its subject: never another block of the same text.
    block = next(blocks(pem), None)
    if block is None or block.type != "CERTIFICATE REQUEST":
        raise InvalidRequest("PEM block type must be CERTIFICATE REQUEST")
    try:
        request = x509.load_der_x509_csr(block.der)
        request.subject.rfc4514_string()
        valid = request.is_signature_valid
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise InvalidRequest(f"the request cannot be parsed: {e}") from None
    if not valid:
        raise InvalidRequest("the request's signature does not verify")
    return request


def alt_names(request: x509.CertificateSigningRequest) -> list[x509.GeneralName]:
    """The request's subjectAltNames of the kinds that are copied; InvalidRequest when its
    extensions cannot be read."""
    try:
        extension = request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    except ValueError as e:  # a duplicated or malformed extension
        raise InvalidRequest(f"the request's extensions cannot be read: {e}") from None
    return [name for name in extension.value if isinstance(name, _COPIED_NAMES)]


def _read(path: Path, file: Literal["cert", "key"], what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise AuthorityError(file, f"{what} {path}: {e.strerror}") from None


def _public(key: x509.Certificate | SigningKey) -> bytes:
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _hash(key: SigningKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """The digest Go pairs with the key (Ed25519 hashes by itself)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384() if key.curve.key_size <= 384 else hashes.SHA512()
    return hashes.SHA256()


def _key_usage(names: set[str]) -> x509.KeyUsage:
    flags = {flag: flag in names for flag in dict.fromkeys(_KEY_USAGES.values())}
    try:
        return x509.KeyUsage(**flags)
    except ValueError as e:  # encipher/decipher only without key agreement
        raise InvalidRequest(str(e)) from None


@dataclass(frozen=True)
class Authority:
    """A CA certificate and its key: `sign` issues certificates for requests."""

    cert: x509.Certificate
    key: SigningKey

    @classmethod
    def load(cls, cert_file: str | Path, key_file: str | Path) -> Authority:
        """The CA in two PEM files; AuthorityError naming the file that is unreadable, not
        a CA, or (the key) not the certificate's."""
        cert_path, key_path = Path(cert_file), Path(key_file)
        cert_pem = _read(cert_path, "cert", "certificate file")
        key_pem = _read(key_path, "key", "key file")
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError:
            raise AuthorityError(
                "cert", f"certificate file {cert_path}: not a PEM certificate"
            ) from None
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except (x509.ExtensionNotFound, ValueError):
            constraints = None
        if constraints is None or not constraints.ca:
            # A serving or client certificate would sign what no peer trusts.
            raise AuthorityError("cert", f"certificate file {cert_path}: not a CA certificate")
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise AuthorityError(
                "key", f"key file {key_path}: not an unencrypted PEM private key"
            ) from None
        if not isinstance(key, SigningKey):
            raise AuthorityError("key", f"key file {key_path}: not an RSA, ECDSA or Ed25519 key")
        if _public(key) != _public(cert):
            raise AuthorityError(
                "key", f"key file {key_path}: does not match the certificate in {cert_path}"
            )
        return cls(cert, key)

    def sign(
        self,
        request: x509.CertificateSigningRequest,
        *,
        usages: list[str],
        lifetime: datetime.timedelta,
        now: datetime.datetime,
    ) -> x509.Certificate:
        """A certificate for `request` (from parse_request) with `usages`, valid for
        `lifetime`; InvalidRequest for usages that make no certificate, ValueError when the
        CA itself has expired (a retry after the CA is replaced may succeed)."""
        unknown = [u for u in usages if u not in _KEY_USAGES and u not in _EXTENDED_USAGES]
        if unknown:
            raise InvalidRequest(f"unrecognized usage values: {unknown}")
        ca_end = self.cert.not_valid_after_utc
        if now >= ca_end:
            raise ValueError(f"refusing to sign: the CA expired at {ca_end.isoformat()}")
        not_before = now - BACKDATE
        not_after = now + lifetime if lifetime < SHORT else not_before + lifetime
        builder = (
            x509.CertificateBuilder()
            .subject_name(request.subject)
            .issuer_name(self.cert.subject)
            .public_key(request.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(min(not_after, ca_end))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        key_usages = {_KEY_USAGES[u] for u in usages if u in _KEY_USAGES}
        if key_usages:
            builder = builder.add_extension(_key_usage(key_usages), critical=True)
        extended = {_EXTENDED_USAGES[u] for u in usages if u in _EXTENDED_USAGES}
        if extended:
            ordered = sorted(extended, key=_EXTENDED_ORDER.index)
            builder = builder.add_extension(x509.ExtendedKeyUsage(ordered), critical=False)
        names = alt_names(request)
        if names:
            # Critical when there is no subject to name the holder (RFC 5280 4.2.1.6).
            san = x509.SubjectAlternativeName(names)
            builder = builder.add_extension(san, critical=not list(request.subject))
        try:
            identifier = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            pass
        else:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(identifier.value),
                critical=False,
            )
        return builder.sign(self.key, _hash(self.key))

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)
