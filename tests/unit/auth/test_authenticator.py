"""Authentication: client certificates, static tokens and ServiceAccount JWTs."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.utils import base64url_encode

from cli.cluster.pki import CertificateAuthority, KeyPair, new_signing_key
from client import errors
from master.apiserver.auth.authenticator import Authenticator, bearer_token
from master.apiserver.auth.satokens import ServiceAccountTokens
from master.apiserver.auth.tokenfile import TokenFileError, parse_tokens

KEY = new_signing_key()
OTHER_KEY = new_signing_key()


def rsa_signing_key() -> KeyPair:
    """An RSA-2048 pair, as kubeadm makes sa.key and as users bring their own."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(public, private)


RSA_KEY = rsa_signing_key()


def tokens(key=KEY, verify=(KEY,)) -> ServiceAccountTokens:
    return ServiceAccountTokens(signing_key=key.key, verifying_keys=[k.cert for k in verify])


class Objects:
    """uids of the ServiceAccounts and pods that exist."""

    def __init__(self) -> None:
        self.uids: dict[tuple[str, str, str], str] = {
            ("serviceaccounts", "team", "builder"): "sa-uid-1",
            ("pods", "team", "web-1"): "pod-uid-1",
        }

    async def __call__(self, resource: str, namespace: str, name: str) -> str | None:
        return self.uids.get((resource, namespace, name))


def authenticator(objects: Objects | None = None, static: str = "") -> Authenticator:
    return Authenticator(
        tokens=parse_tokens(static, "tokens.csv"),
        service_accounts=tokens(),
        lookup=objects or Objects(),
    )


async def test_a_certificate_is_the_user_it_names():
    pair = CertificateAuthority.create("ca").issue("alice", organizations=["dev"], client=True)
    user = await authenticator().authenticate(pair.cert, None)
    assert (user.name, user.groups) == ("alice", ("dev", "system:authenticated"))


async def test_no_credentials_is_unauthenticated():
    with pytest.raises(errors.Unauthenticated, match="no client certificate and no bearer"):
        await authenticator().authenticate(None, None)


async def test_a_static_token_is_its_user_with_groups():
    auth = authenticator(static='s3cret,bob,uid-7,"ops,dev"\n')
    user = await auth.authenticate(None, "Bearer s3cret")
    assert user.name == "bob" and user.uid == "uid-7"
    assert user.groups == ("ops", "dev", "system:authenticated")


async def test_an_unknown_static_token_is_refused():
    with pytest.raises(errors.Unauthenticated, match="not valid"):
        await authenticator(static="s3cret,bob,1\n").authenticate(None, "Bearer guess")


async def test_a_basic_authorization_header_is_refused_naming_the_form():
    with pytest.raises(errors.Unauthenticated, match="Bearer <token>"):
        await authenticator().authenticate(None, "Basic YWxpY2U6cHc=")


def test_a_malformed_token_file_names_the_file_and_line():
    with pytest.raises(TokenFileError, match=r"tokens.csv:2: expected token,user,uid"):
        parse_tokens("a,b,c\nonly-two,columns\n", "tokens.csv")


async def test_a_service_account_token_is_the_service_account():
    token, _ = tokens().issue("team", "builder", "sa-uid-1", expiration_seconds=600)
    user = await authenticator().authenticate(None, f"Bearer {token}")
    assert user.name == "system:serviceaccount:team:builder"
    assert "system:serviceaccounts:team" in user.groups


async def test_a_token_of_a_deleted_service_account_is_refused():
    objects = Objects()
    auth = authenticator(objects)
    token, _ = tokens().issue("team", "builder", "sa-uid-1", expiration_seconds=600)
    await auth.authenticate(None, f"Bearer {token}")
    del objects.uids[("serviceaccounts", "team", "builder")]
    with pytest.raises(errors.Unauthenticated, match="no longer exists"):
        await auth.authenticate(None, f"Bearer {token}")


async def test_a_token_of_a_recreated_service_account_is_refused():
    objects = Objects()
    objects.uids[("serviceaccounts", "team", "builder")] = "sa-uid-2"
    token, _ = tokens().issue("team", "builder", "sa-uid-1", expiration_seconds=600)
    with pytest.raises(errors.Unauthenticated, match="re-created"):
        await authenticator(objects).authenticate(None, f"Bearer {token}")


async def test_a_pod_bound_token_dies_with_its_pod():
    objects = Objects()
    token, _ = tokens().issue(
        "team",
        "builder",
        "sa-uid-1",
        expiration_seconds=600,
        pod_name="web-1",
        pod_uid="pod-uid-1",
    )
    auth = authenticator(objects)
    await auth.authenticate(None, f"Bearer {token}")
    del objects.uids[("pods", "team", "web-1")]
    with pytest.raises(errors.Unauthenticated, match="pod team/web-1"):
        await auth.authenticate(None, f"Bearer {token}")


async def test_an_expired_token_is_refused():
    token, _ = tokens().issue(
        "team", "builder", "sa-uid-1", expiration_seconds=600, now=time.time() - 3600
    )
    with pytest.raises(errors.Unauthenticated, match="expired"):
        await authenticator().authenticate(None, f"Bearer {token}")


async def test_a_token_for_another_audience_is_refused():
    token, _ = tokens().issue(
        "team", "builder", "sa-uid-1", expiration_seconds=600, audiences=["vault"]
    )
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == ["vault"]
    with pytest.raises(errors.Unauthenticated, match="Audience doesn't match"):
        await authenticator().authenticate(None, f"Bearer {token}")


async def test_a_token_signed_by_another_key_is_refused():
    token, _ = tokens(key=OTHER_KEY).issue("team", "builder", "sa-uid-1", expiration_seconds=600)
    with pytest.raises(errors.Unauthenticated, match="signature"):
        await authenticator().authenticate(None, f"Bearer {token}")


async def test_a_forged_unsigned_token_is_refused():
    claims = jwt.decode(
        tokens().issue("team", "builder", "sa-uid-1", expiration_seconds=600)[0],
        options={"verify_signature": False},
    )
    forged = jwt.encode(claims, key="", algorithm="none")
    with pytest.raises(errors.Unauthenticated):
        await authenticator().authenticate(None, f"Bearer {forged}")


async def test_tokens_of_a_rotated_out_key_still_verify_while_it_is_listed():
    old_token, _ = tokens(key=OTHER_KEY).issue(
        "team", "builder", "sa-uid-1", expiration_seconds=600
    )
    auth = authenticator()
    auth.service_accounts = tokens(verify=(KEY, OTHER_KEY))
    user = await auth.authenticate(None, f"Bearer {old_token}")
    assert user.name == "system:serviceaccount:team:builder"


def test_tugs_keys_sign_es256_and_an_rsa_key_signs_rs256():
    for key, algorithm in ((KEY, "ES256"), (RSA_KEY, "RS256")):
        token, _ = tokens(key=key, verify=(key,)).issue(
            "team", "builder", "sa-uid-1", expiration_seconds=600
        )
        assert jwt.get_unverified_header(token)["alg"] == algorithm


async def test_while_rotating_from_rsa_to_ecdsa_tokens_of_both_keys_verify():
    old_token, _ = tokens(key=RSA_KEY, verify=(RSA_KEY,)).issue(
        "team", "builder", "sa-uid-1", expiration_seconds=600
    )
    new_token, _ = tokens().issue("team", "builder", "sa-uid-1", expiration_seconds=600)
    auth = authenticator()
    auth.service_accounts = tokens(verify=(KEY, RSA_KEY))
    for token in (old_token, new_token):
        user = await auth.authenticate(None, f"Bearer {token}")
        assert user.name == "system:serviceaccount:team:builder"
    rotated = authenticator()  # the RSA key no longer listed
    with pytest.raises(errors.Unauthenticated, match="signed with RS256, which no key verifies"):
        await rotated.authenticate(None, f"Bearer {old_token}")


async def test_a_token_signed_with_the_public_key_as_an_hmac_secret_is_refused():
    claims = jwt.decode(
        tokens().issue("team", "builder", "sa-uid-1", expiration_seconds=600)[0],
        options={"verify_signature": False},
    )
    # PyJWT will not sign this itself: the forger writes the three parts by hand.
    head = base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = base64url_encode(json.dumps(claims).encode())
    mac = hmac.new(KEY.cert, head + b"." + body, hashlib.sha256).digest()
    forged = b".".join((head, body, base64url_encode(mac))).decode()
    with pytest.raises(errors.Unauthenticated, match="signed with HS256"):
        await authenticator().authenticate(None, f"Bearer {forged}")


def test_bearer_token_reads_only_the_bearer_scheme():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None


def test_keys_are_parsed_once_not_on_every_token_issued_or_verified(monkeypatch):
    # Loading an RSA private key checks it and cost half the API server's time when
    # thousands of pods asked for tokens: it must happen when the keys are given, only.
    issuer = tokens()
    loads: list[str] = []
    for name in ("load_pem_private_key", "load_pem_public_key", "load_pem_x509_certificate"):
        real = getattr(jwt.algorithms, name, None)
        if real is None:
            continue

        def counted(*args, _real=real, _name=name, **kwargs):
            loads.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(jwt.algorithms, name, counted)
    for _ in range(3):
        token, _ = issuer.issue("team", "builder", "sa-uid-1", expiration_seconds=600)
        assert issuer.verify(token).name == "builder"
    assert loads == []
