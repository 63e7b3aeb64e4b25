"""What a CertificateSigningRequest's status says: approved, denied, failed, issued.

Read by the signer (which requests to sign) and the cleaner (which to delete), written
once here so the two never disagree about a request's state. As Kubernetes' helpers: a
request is approved when it carries Approved and no Denied; only conditions whose status
is "True" count, which is the only status the API server accepts for these types.
"""

from __future__ import annotations

from client import timestamps
from proto import certificates_pb2

__all__ = ["APPROVED", "DENIED", "FAILED", "add_failed", "has", "is_approved", "is_issued"]

APPROVED = "Approved"
DENIED = "Denied"
FAILED = "Failed"

SIGNER_VALIDATION_FAILURE = "SignerValidationFailure"
"""The reason of the Failed condition a signer's rules add (Kubernetes' word)."""

CSR = certificates_pb2.CertificateSigningRequest


def has(csr: CSR, kind: str) -> bool:
    """Whether `csr` carries a condition of type `kind` with status True."""
    return any(c.type == kind and c.status == "True" for c in csr.status.conditions)


def is_approved(csr: CSR) -> bool:
    return has(csr, APPROVED) and not has(csr, DENIED)


def is_issued(csr: CSR) -> bool:
    return bool(csr.status.certificate)


def add_failed(csr: CSR, message: str) -> None:
    """Append the Failed condition a signer's refusal adds, stamped now."""
    now = timestamps.now()
    csr.status.conditions.add(
        type=FAILED,
        status="True",
        reason=SIGNER_VALIDATION_FAILURE,
        message=message,
        last_update_time=now,
        last_transition_time=now,
    )
