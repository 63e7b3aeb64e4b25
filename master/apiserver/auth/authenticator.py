"""Authentication: from what a request presented to the user it is made by.

The transport hands over what it saw (the PEM of a client certificate that TLS has
already verified against the cluster CA, and the `authorization` header or metadata),
and gets back a `UserInfo` or an Unauthenticated error. As in Kubernetes, the first
authenticator that recognises the request wins: a client certificate, then a static
token, then a ServiceAccount token. A ServiceAccount token is only as good as its
ServiceAccount: one deleted (or deleted and re-created, so with another uid) revokes
every token issued for it, and so does the deletion of the pod a token was bound to.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import structlog

from client import errors
from master.apiserver.auth.satokens import InvalidToken, ServiceAccountTokens, TokenClaims
from master.apiserver.auth.user import UserInfo
from master.apiserver.auth.x509 import user_from_certificate

__all__ = ["Authenticator", "UidLookup", "bearer_token"]

log = structlog.get_logger("apiserver.authn")

UidLookup = Callable[[str, str, str], Awaitable[str | None]]
"""(resource, namespace, name) -> the object's uid, or None when it does not exist."""

_VERIFIED_CACHE = 4096
"""Verified ServiceAccount tokens kept, so a busy client's token is checked once."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; None for anything else."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None


@dataclass
class Authenticator:
    """Client certificates, static tokens and ServiceAccount tokens."""

    tokens: Mapping[str, UserInfo] = field(default_factory=dict)
    """Static tokens (--token-auth-file)."""
    service_accounts: ServiceAccountTokens | None = None
    lookup: UidLookup | None = None
    """Finds ServiceAccounts and pods, to check that a token's subjects still exist."""
    _verified: OrderedDict[str, TokenClaims] = field(default_factory=OrderedDict, repr=False)

    async def authenticate(self, certificate: bytes | None, authorization: str | None) -> UserInfo:
        """The user of a request; Unauthenticated when it presented no valid credentials."""
        if certificate:
            user = user_from_certificate(certificate)
            if user is not None:
                return user
        token = bearer_token(authorization)
        if token is None:
            if authorization:
                raise errors.Unauthenticated(
                    "Unauthorized: the authorization header is not of the form 'Bearer <token>'"
                )
            raise errors.Unauthenticated(
                "Unauthorized: the request carries no client certificate and no bearer token"
            )
        user = self.tokens.get(token)
        if user is not None:
            return user
        if self.service_accounts is not None and ServiceAccountTokens.looks_like_jwt(token):
            return await self._service_account(token)
        raise errors.Unauthenticated("Unauthorized: the bearer token is not valid")

    async def _service_account(self, token: str) -> UserInfo:
        assert self.service_accounts is not None
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = self.service_accounts.verify(token)
            except InvalidToken as e:
                log.info("token refused", key="serviceaccount-token", reason=str(e))
                raise errors.Unauthenticated(
                    f"Unauthorized: invalid ServiceAccount token: {e}"
                ) from None
            self._verified[token] = claims
            if len(self._verified) > _VERIFIED_CACHE:
                self._verified.popitem(last=False)
        elif claims.expires + 30 < time.time():
            self._verified.pop(token, None)
            raise errors.Unauthenticated("Unauthorized: invalid ServiceAccount token: expired")
        await self._still_exists(claims)
        return claims.user()

    async def _still_exists(self, claims: TokenClaims) -> None:
        if self.lookup is None:
            return
        where = f"{claims.namespace}/{claims.name}"
        uid = await self.lookup("serviceaccounts", claims.namespace, claims.name)
        if uid is None:
            raise errors.Unauthenticated(
                f"Unauthorized: the token's ServiceAccount {where} no longer exists"
            )
        if uid != claims.uid:
            raise errors.Unauthenticated(
                f"Unauthorized: the token's ServiceAccount {where} was re-created (uid {uid}, "
                f"the token names {claims.uid})"
            )
        if claims.pod_name:
            pod_uid = await self.lookup("pods", claims.namespace, claims.pod_name)
            if pod_uid != claims.pod_uid:
                raise errors.Unauthenticated(
                    f"Unauthorized: the pod {claims.namespace}/{claims.pod_name} the token "
                    "was bound to no longer exists"
                )
