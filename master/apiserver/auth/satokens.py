"""ServiceAccount tokens: JWTs signed by the API servers' key, in Kubernetes' shape.

A token names its ServiceAccount by namespace, name and uid, and (when the kubelet asked
for it on behalf of a pod) the pod by name and uid:

    {"iss": ISSUER, "aud": [ISSUER], "sub": "system:serviceaccount:ns:name",
     "iat": ..., "nbf": ..., "exp": ...,
     "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": n, "uid": u},
                       "pod": {"name": p, "uid": v}}}

The signature proves the token came from an API server of this cluster; the
authenticator then checks that the ServiceAccount (and the pod) still exist with those
uids, so deleting either revokes every token issued for it, as in Kubernetes. Every API
server of a cluster shares the signing key (`--service-account-key-file`).

As kube-apiserver, the key's type picks the algorithm: RS256 for an RSA key, ES256,
ES384 or ES512 for an ECDSA key on P-256, P-384 or P-521. Keys `tug up` makes are
P-256: every pod's token is signed once, and in a profile at 1,000 simulated nodes
signing took 4.4 % of the API server's time with RSA-2048 and 1.3 % with P-256
(verifying is cached by the authenticator). A token is verified only by the keys of the
algorithm its header names, so RSA and ECDSA keys can be listed side by side while a
cluster rotates from one to the other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from master.apiserver.auth.user import (
    SERVICE_ACCOUNTS,
    UserInfo,
    service_account_user,
)

__all__ = [
    "DEFAULT_ISSUER",
    "MAX_EXPIRATION_SECONDS",
    "MIN_EXPIRATION_SECONDS",
    "InvalidToken",
    "ServiceAccountTokens",
    "TokenClaims",
]

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
"""kube-apiserver's default --service-account-issuer."""
MIN_EXPIRATION_SECONDS = 600
"""Kubernetes refuses TokenRequests shorter than ten minutes."""
MAX_EXPIRATION_SECONDS = 48 * 3600
_LEEWAY = 30
"""Seconds of clock difference between API servers that a token's dates tolerate."""
_KEY = "kubernetes.io"


class InvalidToken(ValueError):
    """A token that is not a valid ServiceAccount token of this cluster; says why."""


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says."""

    namespace: str
    name: str
    uid: str
    pod_name: str = ""
    pod_uid: str = ""
    expires: int = 0

    def user(self) -> UserInfo:
        """The ServiceAccount as a user."""
        extra: dict[str, tuple[str, ...]] = {}
        if self.pod_name:
            extra = {
                "authentication.kubernetes.io/pod-name": (self.pod_name,),
                "authentication.kubernetes.io/pod-uid": (self.pod_uid,),
            }
        return UserInfo(
            service_account_user(self.namespace, self.name),
            (SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{self.namespace}"),
            self.uid,
            extra,
        ).with_authenticated()


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
VerifyingKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_CURVE_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def algorithm_of(key: SigningKey | VerifyingKey) -> str:
    """The JWT algorithm a key signs or verifies with, as kube-apiserver chooses it."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    algorithm = _CURVE_ALGORITHMS.get(key.curve.name)
    if algorithm is None:
        raise ValueError(f"ECDSA keys on curve {key.curve.name} cannot sign service tokens")
    return algorithm


def _private(pem: bytes) -> SigningKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("the service account signing key is neither an RSA nor an ECDSA key")
    algorithm_of(key)
    return key


def _public(pem: bytes) -> VerifyingKey:
    """A public key, the public half of a private key, or a certificate's key (PEM): what
    `--service-account-key-file` may hold."""
    key: object
    if b"CERTIFICATE" in pem:
        key = x509.load_pem_x509_certificate(pem).public_key()
    elif b"PRIVATE KEY" in pem:
        key = _private(pem).public_key()
    else:
        key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError("a service account key is neither an RSA nor an ECDSA key")
    algorithm_of(key)
    return key


class ServiceAccountTokens:
    """Issues tokens with the private key (if given) and verifies them with the public ones."""

    def __init__(
        self,
        *,
        signing_key: bytes | None,
        verifying_keys: list[bytes],
        issuer: str = DEFAULT_ISSUER,
    ) -> None:
        if not verifying_keys:
            raise ValueError("at least one public key is needed to verify tokens")
        # Parsed once here: PyJWT given PEM bytes loads and checks the RSA key on every
        # call, which cost half the API server's time when thousands of pods asked for
        # their tokens at once.
        self._signing_key = None if signing_key is None else _private(signing_key)
        self._algorithm = "" if self._signing_key is None else algorithm_of(self._signing_key)
        publics = [_public(key) for key in verifying_keys]
        self._verifying = [(key, algorithm_of(key)) for key in publics]
        self.issuer = issuer

    @property
    def can_issue(self) -> bool:
        return self._signing_key is not None

    def issue(
        self,
        namespace: str,
        name: str,
        uid: str,
        *,
        expiration_seconds: int,
        pod_name: str = "",
        pod_uid: str = "",
        audiences: Sequence[str] = (),
        now: float | None = None,
    ) -> tuple[str, int]:
        """A signed token and its expiry (Unix seconds), for `audiences` (none: this API
        server, the only audience verify() accepts)."""
        if self._signing_key is None:
            raise InvalidToken("this API server has no --service-account-signing-key-file")
        issued = int(time.time() if now is None else now)
        expires = issued + expiration_seconds
        inner: dict[str, object] = {
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": uid},
        }
        if pod_name:
            inner["pod"] = {"name": pod_name, "uid": pod_uid}
        claims = {
            "iss": self.issuer,
            "aud": list(audiences) or [self.issuer],
            "sub": service_account_user(namespace, name),
            "iat": issued,
            "nbf": issued,
            "exp": expires,
            _KEY: inner,
        }
        return jwt.encode(claims, self._signing_key, algorithm=self._algorithm), expires

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        """Whether a bearer token has the shape of a JWT (three dot-separated parts)."""
        return token.count(".") == 2

    def verify(self, token: str) -> TokenClaims:
        """The claims of a token signed by one of our keys, unexpired; InvalidToken else."""
        try:
            algorithm = str(jwt.get_unverified_header(token).get("alg"))
        except jwt.PyJWTError as e:
            raise InvalidToken(str(e)) from None
        keys = [key for key, signs in self._verifying if signs == algorithm]
        if not keys:
            raise InvalidToken(f"the token is signed with {algorithm}, which no key verifies")
        last: Exception | None = None
        for key in keys:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=self.issuer,
                    issuer=self.issuer,
                    leeway=_LEEWAY,
                    options={"require": ["exp", "iat", "iss", "sub"]},
                )
                break
            except jwt.InvalidSignatureError as e:
                last = e  # try the next key (keys are rotated by listing old and new)
            except jwt.PyJWTError as e:
                raise InvalidToken(str(e)) from None
        else:
            raise InvalidToken(f"the token's signature matches no key: {last}")
        inner = claims.get(_KEY)
        if not isinstance(inner, dict):
            raise InvalidToken(f"the token has no {_KEY} claim")
        sa = inner.get("serviceaccount") or {}
        pod = inner.get("pod") or {}
        namespace = str(inner.get("namespace") or "")
        name, uid = str(sa.get("name") or ""), str(sa.get("uid") or "")
        if not namespace or not name or not uid:
            raise InvalidToken("the token names no ServiceAccount namespace, name and uid")
        if claims["sub"] != service_account_user(namespace, name):
            raise InvalidToken("the token's subject does not match its ServiceAccount")
        return TokenClaims(
            namespace,
            name,
            uid,
            str(pod.get("name") or ""),
            str(pod.get("uid") or ""),
            int(claims["exp"]),
        )
