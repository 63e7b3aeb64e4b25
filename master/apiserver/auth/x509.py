"""Client certificates as users: the subject's CN is the user, each O a group.

The TLS layer has already checked the chain to the cluster CA and the validity dates
before any request arrives; this module only reads the identity out of the verified
certificate. Parsing is cached by the certificate's bytes, since a connection sends the
same certificate with every one of its requests.
"""

from __future__ import annotations

from functools import lru_cache

from client.tls import certificate_subject
from master.apiserver.auth.user import UserInfo

__all__ = ["user_from_certificate"]


@lru_cache(maxsize=4096)
def user_from_certificate(pem: bytes) -> UserInfo | None:
    """The user a verified PEM certificate names; None when it has no CN."""
    name, groups = certificate_subject(pem)
    if not name:
        return None
    return UserInfo(name, groups).with_authenticated()
