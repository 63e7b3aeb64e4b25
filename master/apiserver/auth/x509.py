"""Client certificates as users: the subject's CN is the user, each O a group.

The TLS layer has already checked the chain to the cluster CA and the validity dates
before any request arrives; this module only reads the identity out of the verified
certificate. Parsing is cached by the certificate's bytes, since a connection sends the
same certificate with every one of its requests.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID

from master.apiserver.auth.user import UserInfo

__all__ = ["user_from_certificate"]


@lru_cache(maxsize=4096)
def user_from_certificate(pem: bytes) -> UserInfo | None:
    """The user a verified PEM certificate names; None when it has no CN."""
    cert = x509.load_pem_x509_certificate(pem)
    subject = cert.subject
    names = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not names or not names[0]:
        return None
    groups = tuple(
        str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    )
    return UserInfo(names[0], groups).with_authenticated()
