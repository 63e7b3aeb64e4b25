"""What each signer agrees to sign: Kubernetes' rules, with Kubernetes' messages."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.oid import NameOID

from master.controllers.certificates import signers
from master.controllers.certificates.authority import alt_names, parse_request
from tests.support.certificates import CLIENT, KUBELET_CLIENT, KUBELET_SERVING, request_pem

NODE = ("system:node:n1", ["system:nodes"])
SERVING = ["digital signature", "server auth"]
KUBELET = ["digital signature", "client auth"]


def problem(signer: str, pem: bytes, usages: list[str]) -> str:
    request = parse_request(pem)
    return signers.problem(signer, request, alt_names(request), usages)


@pytest.mark.parametrize(
    ("signer", "pem", "usages"),
    [
        (CLIENT, request_pem("jane", ["devs"]), ["client auth"]),
        (CLIENT, request_pem("jane"), ["digital signature", "key encipherment", "client auth"]),
        (KUBELET_CLIENT, request_pem(*NODE), KUBELET),
        (KUBELET_CLIENT, request_pem(*NODE), [*KUBELET, "key encipherment"]),
        (KUBELET_SERVING, request_pem(*NODE, dns=["n1"]), SERVING),
        (KUBELET_SERVING, request_pem(*NODE, ips=["10.0.0.7"]), [*SERVING, "key encipherment"]),
    ],
    ids=[
        "client",
        "client-all-usages",
        "kubelet-client",
        "kubelet-client-rsa-usages",
        "serving-dns",
        "serving-ip-rsa-usages",
    ],
)
def test_a_request_within_its_signer_s_rules_is_accepted(
    signer: str, pem: bytes, usages: list[str]
) -> None:
    assert problem(signer, pem, usages) == ""


@pytest.mark.parametrize(
    ("signer", "pem", "usages", "message"),
    [
        (
            CLIENT,
            request_pem("jane"),
            ["digital signature"],
            "missing required usage for client certificate: client auth",
        ),
        (
            CLIENT,
            request_pem("jane"),
            ["client auth", "server auth"],
            "invalid usage for client certificate: server auth",
        ),
        (
            KUBELET_CLIENT,
            request_pem("jane", ["system:nodes"]),
            KUBELET,
            "subject common name does not begin with system:node:",
        ),
        (
            KUBELET_CLIENT,
            request_pem("system:node:n1", ["system:nodes", "admins"]),
            KUBELET,
            "subject organization is not system:nodes",
        ),
        (
            KUBELET_CLIENT,
            request_pem(*NODE, ips=["10.0.0.7"]),
            KUBELET,
            "IP subjectAltNames are not allowed",
        ),
        (
            KUBELET_CLIENT,
            request_pem(*NODE),
            ["client auth"],
            "usages did not match [client auth digital signature key encipherment]",
        ),
        (
            KUBELET_SERVING,
            request_pem(*NODE),
            SERVING,
            "DNS or IP subjectAltName is required",
        ),
        (
            KUBELET_SERVING,
            request_pem(*NODE, dns=["n1"], emails=["n1@example.com"]),
            SERVING,
            "Email subjectAltNames are not allowed",
        ),
        (
            KUBELET_SERVING,
            request_pem(*NODE, dns=["n1"]),
            [*SERVING, "client auth"],
            "usages did not match [digital signature key encipherment server auth]",
        ),
        (
            KUBELET_SERVING,
            request_pem("n1", ["system:nodes"], dns=["n1"]),
            SERVING,
            "subject common name does not begin with system:node:",
        ),
    ],
    ids=[
        "client-without-client-auth",
        "client-with-server-auth",
        "kubelet-client-not-a-node",
        "kubelet-client-extra-group",
        "kubelet-client-with-sans",
        "kubelet-client-without-digital-signature",
        "serving-without-sans",
        "serving-with-email",
        "serving-with-client-auth",
        "serving-not-a-node",
    ],
)
def test_a_request_outside_its_signer_s_rules_is_refused_saying_why(
    signer: str, pem: bytes, usages: list[str], message: str
) -> None:
    assert problem(signer, pem, usages) == message


def two_common_names(first: str, second: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, first),
            x509.NameAttribute(NameOID.COMMON_NAME, second),
        ]
    )
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("signer", [CLIENT, KUBELET_CLIENT, KUBELET_SERVING])
def test_no_signer_signs_a_subject_with_two_common_names(signer: str) -> None:
    """The API servers read the first as the user, kubectl shows the approver the last."""
    pem = two_common_names("admin", "eddie")
    assert problem(signer, pem, ["client auth"]) == (
        "subject must not hold more than one common name"
    )
