"""CertificateSigningRequests (certificates.k8s.io/v1), checked as Kubernetes checks them.

The rules and words are those of pkg/apis/certificates/validation (v1.32). The request
must be one PEM "CERTIFICATE REQUEST" block that parses and carries a valid signature
(proof that the requester holds the key); the signer is a `domain/path` name; the key
usages are Kubernetes' fixed list. Who may change what after creation is split by the
update's door, as Kubernetes splits it into three strategies: an update of the object
changes neither its approval nor its certificate, `/approval` may add Approved or Denied,
`/status` may set the certificate once. None of them removes an Approved, Denied or
Failed condition, so a decision once written stays.

Values are printed as kube-apiserver prints them: the request's bytes as Go's `%#v`
shows a byte slice, since that is the message kubectl users meet and search for.

Kubernetes also tolerates, on update, faults a stored object already has (objects from
releases with looser rules); every object here passed these rules when it was created,
so those tolerances would have nothing to tolerate and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from client import pem
from client.names import is_dns1123_label, is_dns1123_subdomain
from master.apiserver.validation.errors import Errors, child, index
from proto import certificates_pb2

__all__ = [
    "APPROVED",
    "DENIED",
    "FAILED",
    "KEY_USAGES",
    "LEGACY_UNKNOWN_SIGNER",
    "validate_csr",
    "validate_csr_update",
]

APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"
LEGACY_UNKNOWN_SIGNER = "kubernetes.io/legacy-unknown"
KEY_USAGES = (
    "signing", "digital signature", "content commitment", "key encipherment",
    "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only",
    "decipher only", "any", "server auth", "client auth", "code signing",
    "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user",
    "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
)  # fmt: skip
"""Kubernetes' KeyUsage values, the names x509 gives key usages and extended key usages."""
MIN_EXPIRATION_SECONDS = 600
_TRUE_ONLY = (APPROVED, DENIED, FAILED)
"""Condition types that are either present with status True or absent."""
_STATUSES = ("False", "True", "Unknown")
"""Sorted, as Kubernetes lists allowed values in its message."""
_DOMAIN_MAX = 253
_SIGNER_MAX = _DOMAIN_MAX + 1 + (253 + 63 + 1)
"""A domain, '/', then room for `<namespace>.<name>` (Kubernetes' 571)."""
_VERIFY_FAILURES = (
    (rsa.RSAPublicKey, "crypto/rsa: verification error"),
    (ec.EllipticCurvePublicKey, "x509: ECDSA verification failure"),
    (ed25519.Ed25519PublicKey, "x509: Ed25519 verification failure"),
)
"""Go's words for a bad signature, by key type (what CheckSignature returns)."""

REQUEST = "spec.request"
CONDITIONS = "status.conditions"
CERTIFICATE = "status.certificate"


def _go_bytes(data: bytes) -> str:
    """A byte slice as Go's `%#v` prints it (kube-apiserver's rendering of a bad request)."""
    if not data:
        return "[]byte(nil)"
    return "[]byte{" + ", ".join(f"0x{b:x}" for b in data) + "}"


def _request_problem(data: bytes) -> str | None:
    """Why `data` is not a certificate request its key signed; None when it is."""
    block = next(pem.blocks(data), None)
    if block is None or block.type != "CERTIFICATE REQUEST":
        return "PEM block type must be CERTIFICATE REQUEST"
    try:
        csr = x509.load_der_x509_csr(block.der)
        # Read whole now, as Go's parser reads it at create: a subject or extension the
        # signer could not read later would leave the request waiting forever.
        csr.subject.rfc4514_string()
        list(csr.extensions)
    except (ValueError, TypeError):
        return "x509: malformed certificate request"
    try:
        key = csr.public_key()
        valid = csr.is_signature_valid
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return "x509: cannot verify signature: algorithm unimplemented"
    if valid:
        return None
    words = (w for t, w in _VERIFY_FAILURES if isinstance(key, t))
    return next(words, "x509: signature verification failure")


def _certificate_problem(data: bytes) -> str | None:
    """Why `data` is not one or more PEM certificates; None when it is (or is empty)."""
    if not data:
        return None
    count = 0
    for block in pem.blocks(data):
        if block.type != "CERTIFICATE":
            return f'only CERTIFICATE PEM blocks are allowed, found "{block.type}"'
        if block.headers:
            return "no PEM block headers are permitted"
        try:
            x509.load_der_x509_certificate(block.der)
        except ValueError:
            return "x509: malformed certificate"
        count += 1
    return None if count else "must contain at least one CERTIFICATE PEM block"


def _validate_signer_name(errs: Errors, path: str, name: str) -> None:
    """`domain/path`: a domain of two or more RFC 1123 labels, a path of subdomains."""
    if not name:
        errs.required(path)
        return
    segments = name.split("/")
    if len(segments) != 2:
        errs.invalid(
            path,
            name,
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        )
        return
    domain, tail = segments
    if len(domain) > _DOMAIN_MAX:
        errs.too_long(path, _DOMAIN_MAX)
    labels = domain.split(".")
    # Kubernetes reports only the first bad label of each part: the rest would repeat it.
    for label in labels:
        if found := is_dns1123_label(label):
            errs.invalid_each(path, domain, (f'validating label "{label}": {m}' for m in found))
            break
    if len(labels) < 2:
        errs.invalid(
            path, domain, "should be a domain with at least two segments separated by dots"
        )
    for label in tail.split("."):
        if found := is_dns1123_subdomain(label):
            errs.invalid_each(path, tail, (f'validating label "{label}": {m}' for m in found))
            break
    if len(name) > _SIGNER_MAX:
        errs.too_long(path, _SIGNER_MAX)


def validate_csr(errs: Errors, csr: certificates_pb2.CertificateSigningRequest) -> None:
    """The request, usages, signer, duration, conditions and certificate of one CSR."""
    spec = csr.spec
    problem = _request_problem(spec.request)
    if problem:
        errs.add(REQUEST, f"Invalid value: {_go_bytes(spec.request)}: {problem}")
    if not spec.usages:
        errs.required("spec.usages")
    seen: set[str] = set()
    for i, usage in enumerate(spec.usages):
        if usage not in KEY_USAGES:
            errs.unsupported(index("spec.usages", i), usage, sorted(KEY_USAGES))
        if usage in seen:
            errs.duplicate(index("spec.usages", i), usage)
        seen.add(usage)
    if spec.signer_name == LEGACY_UNKNOWN_SIGNER:
        errs.invalid(
            "spec.signerName",
            spec.signer_name,
            "the legacy signerName is not allowed via this API version",
        )
    else:
        _validate_signer_name(errs, "spec.signerName", spec.signer_name)
    if spec.HasField("expiration_seconds") and spec.expiration_seconds < MIN_EXPIRATION_SECONDS:
        errs.invalid(
            "spec.expirationSeconds",
            spec.expiration_seconds,
            "may not specify a duration less than 600 seconds (10 minutes)",
        )
    _conditions(errs, csr.status.conditions)
    problem = _certificate_problem(csr.status.certificate)
    if problem:
        errs.invalid(CERTIFICATE, "<certificate data>", problem)


def _conditions(
    errs: Errors, conditions: Iterable[certificates_pb2.CertificateSigningRequestCondition]
) -> None:
    seen: set[str] = set()
    found = {APPROVED: False, DENIED: False}
    for i, c in enumerate(conditions):
        path = index(CONDITIONS, i)
        if not c.type:
            errs.required(child(path, "type"))
        allowed = ("True",) if c.type in _TRUE_ONLY else _STATUSES
        if not c.status:
            errs.required(child(path, "status"))
        elif c.status not in allowed:
            errs.unsupported(child(path, "status"), c.status, allowed)
        if c.type in found:
            found[c.type] = True
            if found[APPROVED] and found[DENIED]:
                errs.invalid(
                    child(path, "type"),
                    c.type,
                    "Approved and Denied conditions are mutually exclusive",
                )
        if c.type in seen:
            errs.duplicate(child(path, "type"), c.type)
        seen.add(c.type)


def validate_csr_update(
    errs: Errors,
    new: certificates_pb2.CertificateSigningRequest,
    old: certificates_pb2.CertificateSigningRequest,
    *,
    approval: bool = False,
    certificate: bool = False,
) -> None:
    """What an update may not change: `approval` (the /approval door) lets it add or
    change Approved and Denied, `certificate` (the /status door) set the certificate
    once. No door removes an Approved, Denied or Failed condition."""
    for kind in (APPROVED, DENIED, FAILED):
        if len(_of_type(new, kind)) < len(_of_type(old, kind)):
            errs.forbidden(CONDITIONS, f'updates may not remove a condition of type "{kind}"')
    if not approval:
        for kind in (APPROVED, DENIED):
            before, after = _of_type(old, kind), _of_type(new, kind)
            if len(after) > len(before):
                errs.forbidden(CONDITIONS, f'updates may not add a condition of type "{kind}"')
            elif len(after) == len(before) and after != before:
                errs.forbidden(CONDITIONS, f'updates may not modify a condition of type "{kind}"')
    if new.status.certificate != old.status.certificate:
        if not certificate:
            errs.forbidden(CERTIFICATE, "updates may not set certificate content")
        elif old.status.certificate:
            errs.forbidden(CERTIFICATE, "updates may not modify existing certificate content")


def _of_type(
    csr: certificates_pb2.CertificateSigningRequest, kind: str
) -> list[certificates_pb2.CertificateSigningRequestCondition]:
    return [c for c in csr.status.conditions if c.type == kind]
