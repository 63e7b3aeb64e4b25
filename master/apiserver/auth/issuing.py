"""Issuing ServiceAccount tokens (Kubernetes' TokenRequest), for the gRPC Auth service and
the REST `serviceaccounts/NAME/token` subresource alike.

The caller needs `create serviceaccounts/token` on the ServiceAccount (the node authorizer
grants a kubelet that only for the ServiceAccounts of its own pods). A token may be bound
to a pod, which must exist, use that ServiceAccount and, if a uid is given, have it;
deleting the pod then revokes the token. Lifetimes are clamped to [10 min, 48 h], one
hour when none is asked. As kube-apiserver does for the kubelet's default request (3607 s)
of a pod-bound token, that one is extended to a year, so that a pod's mounted token keeps
working without the kubelet refreshing it; binding still revokes it with the pod.

Keys: `--service-account-signing-key-file` (PEM, RSA or ECDSA private) signs, and its public half
with any `--service-account-key-file` verifies. Without a signing key an API server makes
one for its own lifetime: tokens then work only where nothing verifies them across
servers, which is the insecure mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from client import errors
from client.kinds import Kind, Object, by_resource
from client.timestamps import from_epoch
from master.apiserver.access import Access, Request
from master.apiserver.auth.satokens import (
    MAX_EXPIRATION_SECONDS,
    MIN_EXPIRATION_SECONDS,
    ServiceAccountTokens,
)
from master.apiserver.auth.user import UserInfo
from master.apiserver.registry import Registry

SERVICE_ACCOUNTS = by_resource("serviceaccounts")
PODS = by_resource("pods")
DEFAULT_SECONDS = 3600
KUBELET_DEFAULT_SECONDS = 3607
EXTENDED_SECONDS = 365 * 24 * 3600


def load_keys(signing_key_file: str, key_files: list[str]) -> ServiceAccountTokens:
    """The signer and verifiers the flags name (a fresh private key when none does)."""
    if signing_key_file:
        private = Path(signing_key_file).read_bytes()
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    loaded = serialization.load_pem_private_key(private, password=None)
    public = loaded.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifying = [public, *(Path(f).read_bytes() for f in key_files)]
    return ServiceAccountTokens(signing_key=private, verifying_keys=verifying)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expiration_timestamp: str


@dataclass
class TokenIssuer:
    """TokenRequest over the registry, as the caller is allowed."""

    tokens: ServiceAccountTokens
    registry: Registry
    access: Access

    async def issue(
        self,
        user: UserInfo,
        namespace: str,
        name: str,
        *,
        expiration_seconds: int = 0,
        pod_name: str = "",
        pod_uid: str = "",
        audiences: Sequence[str] = (),
    ) -> IssuedToken:
        await self.access.authorize(
            Request("create", SERVICE_ACCOUNTS, namespace, name, subresource="token"), user
        )
        account = await self._read(SERVICE_ACCOUNTS, namespace, name)
        if pod_name:
            pod = await self._read(PODS, namespace, pod_name, pod_uid)
            if pod_uid and pod.metadata.uid != pod_uid:
                raise errors.Conflict(
                    f"the UID in the bound object reference ({pod_uid}) does not match the "
                    f'UID in record ({pod.metadata.uid}): pod "{pod_name}" was re-created'
                )
            used = pod.spec.service_account_name or "default"  # type: ignore[union-attr]
            if used != name:
                raise errors.BadRequest(
                    f'cannot bind a token of service account "{name}" to pod "{pod_name}", '
                    f'which uses service account "{used}"'
                )
            pod_uid = pod.metadata.uid
        seconds = expiration_seconds or DEFAULT_SECONDS
        if seconds < MIN_EXPIRATION_SECONDS:
            raise errors.Invalid(
                f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration "
                f"less than {MIN_EXPIRATION_SECONDS} seconds"
            )
        seconds = min(seconds, MAX_EXPIRATION_SECONDS)
        if pod_name and expiration_seconds == KUBELET_DEFAULT_SECONDS and not audiences:
            seconds = EXTENDED_SECONDS
        token, expires = self.tokens.issue(
            namespace,
            name,
            account.metadata.uid,
            expiration_seconds=seconds,
            pod_name=pod_name,
            pod_uid=pod_uid,
            audiences=audiences,
        )
        return IssuedToken(token, from_epoch(expires))

    async def _read(self, kind: Kind, namespace: str, name: str, uid: str = "") -> Object:
        """The object from the watch cache when it is there (with `uid`, when given), else
        from etcd. Every pod's token is asked for as the pod starts, and two etcd reads per
        pod were a cost at scale; a cached copy cannot give away more than the newest
        would, since a token names the uids it was issued for and dies with them. Only a
        miss reads etcd: a pod created a moment ago may not be in the cache yet."""
        try:
            found = await self.registry.get(kind, namespace, name, "0")
        except errors.NotFound:
            found = None
        if found is not None and (not uid or found.metadata.uid == uid):
            return found
        return await self.registry.get(kind, namespace, name)
