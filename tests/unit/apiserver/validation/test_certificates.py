"""Validation of CertificateSigningRequests (certificates.py), in kube-apiserver's words."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cli.cluster.pki import CertificateAuthority
from client.kinds import by_resource
from master.apiserver.strategies import strategy_for
from proto import certificates_pb2
from tests.support.certificates import csr, request_pem
from tests.unit.apiserver.validation.cases import assert_named

CSRS = by_resource("certificatesigningrequests")
REQUEST = request_pem("ann", ["devs"])
CERTIFICATE = CertificateAuthority.create("issued").cert_pem
NOT_DER = b"-----BEGIN CERTIFICATE REQUEST-----\naGk=\n-----END CERTIFICATE REQUEST-----\n"
USAGES_LISTED = 'supported values: "any", "cert sign", "client auth", "code signing"'


def broken_signature(pem: bytes) -> bytes:
    """`pem` with the last byte of its signature changed: still a request, badly signed."""
    body = b"".join(pem.splitlines()[1:-1])
    der = bytearray(base64.b64decode(body))
    der[-1] ^= 1
    lines = base64.encodebytes(bytes(der)).replace(b"\n", b"")
    return (
        b"-----BEGIN CERTIFICATE REQUEST-----\n" + lines + b"\n-----END CERTIFICATE REQUEST-----\n"
    )


def problems(obj: Any, old: Any = None, subresource: str = "") -> list[str]:
    return [str(p) for p in strategy_for(CSRS).problems(obj, old, subresource=subresource)]


def request(**changes: Any) -> certificates_pb2.CertificateSigningRequest:
    """A valid request (ann's, for client auth) with `changes` to its spec and status."""
    obj = csr("ann", changes.pop("request", REQUEST))
    for field in ("signer_name", "expiration_seconds"):
        if field in changes:
            setattr(obj.spec, field, changes.pop(field))
    if "usages" in changes:
        obj.spec.ClearField("usages")
        obj.spec.usages.extend(changes.pop("usages"))
    for condition in changes.pop("conditions", ()):
        obj.status.conditions.add(**condition)
    obj.status.certificate = changes.pop("certificate", b"")
    assert not changes, changes
    return obj


def test_a_users_request_for_a_client_certificate_is_valid() -> None:
    assert problems(request(expiration_seconds=600)) == []


def test_an_rsa_request_is_valid_too() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert problems(request(request=request_pem("ann", key=key))) == []  # type: ignore[arg-type]


CASES = [
    pytest.param(
        {"request": b"hi"},
        "spec.request: Invalid value: []byte{0x68, 0x69}: PEM block type must be CERTIFICATE "
        "REQUEST",
        id="not PEM",
    ),
    pytest.param(
        {"request": b""},
        "spec.request: Invalid value: []byte(nil): PEM block type must be CERTIFICATE REQUEST",
        id="no request",
    ),
    pytest.param(
        {"request": CERTIFICATE},
        "PEM block type must be CERTIFICATE REQUEST",
        id="a certificate instead",
    ),
    pytest.param(
        {"request": NOT_DER},
        "x509: malformed certificate request",
        id="not DER",
    ),
    pytest.param(
        {"request": broken_signature(REQUEST)},
        "x509: ECDSA verification failure",
        id="a bad signature",
    ),
    pytest.param({"usages": []}, "spec.usages: Required value", id="no usages"),
    pytest.param(
        {"usages": ["clientAuth"]},
        f'spec.usages[0]: Unsupported value: "clientAuth": {USAGES_LISTED}',
        id="an unknown usage",
    ),
    pytest.param(
        {"usages": ["client auth", "client auth"]},
        'spec.usages[1]: Duplicate value: "client auth"',
        id="a usage twice",
    ),
    pytest.param({"signer_name": ""}, "spec.signerName: Required value", id="no signer"),
    pytest.param(
        {"signer_name": "my-signer"},
        'spec.signerName: Invalid value: "my-signer": must be a fully qualified domain and '
        "path of the form 'example.com/signer-name'",
        id="no path",
    ),
    pytest.param(
        {"signer_name": "example/signer"},
        'spec.signerName: Invalid value: "example": should be a domain with at least two '
        "segments separated by dots",
        id="a one-label domain",
    ),
    pytest.param(
        {"signer_name": "Example.com/signer"},
        'spec.signerName: Invalid value: "Example.com": validating label "Example": a lowercase '
        "RFC 1123 label",
        id="an upper-case domain",
    ),
    pytest.param(
        {"signer_name": "example.com/My_Signer"},
        'spec.signerName: Invalid value: "My_Signer": validating label "My_Signer": a lowercase '
        "RFC 1123 subdomain",
        id="a bad path",
    ),
    pytest.param(
        {"signer_name": "kubernetes.io/legacy-unknown"},
        'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName '
        "is not allowed via this API version",
        id="the legacy signer",
    ),
    pytest.param(
        {"expiration_seconds": 599},
        "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 "
        "seconds (10 minutes)",
        id="under ten minutes",
    ),
    pytest.param(
        {"conditions": [{"status": "True"}]},
        "status.conditions[0].type: Required value",
        id="a condition without type",
    ),
    pytest.param(
        {"conditions": [{"type": "Approved"}]},
        "status.conditions[0].status: Required value",
        id="a condition without status",
    ),
    pytest.param(
        {"conditions": [{"type": "Approved", "status": "False"}]},
        'status.conditions[0].status: Unsupported value: "False": supported values: "True"',
        id="approved false",
    ),
    pytest.param(
        {"conditions": [{"type": "Reviewed", "status": "Maybe"}]},
        'status.conditions[0].status: Unsupported value: "Maybe": supported values: "False", '
        '"True", "Unknown"',
        id="a status nobody knows",
    ),
    pytest.param(
        {
            "conditions": [
                {"type": "Approved", "status": "True"},
                {"type": "Denied", "status": "True"},
            ]
        },
        'status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are '
        "mutually exclusive",
        id="approved and denied",
    ),
    pytest.param(
        {"conditions": [{"type": "Approved", "status": "True"}] * 2},
        'status.conditions[1].type: Duplicate value: "Approved"',
        id="approved twice",
    ),
    pytest.param(
        {"certificate": b"not a certificate"},
        'status.certificate: Invalid value: "<certificate data>": must contain at least one '
        "CERTIFICATE PEM block",
        id="a certificate that is not PEM",
    ),
    pytest.param(
        {"certificate": REQUEST},
        'status.certificate: Invalid value: "<certificate data>": only CERTIFICATE PEM blocks '
        'are allowed, found "CERTIFICATE REQUEST"',
        id="a request for a certificate",
    ),
    pytest.param(
        {"certificate": CERTIFICATE.replace(b"-----\n", b"-----\nProc-Type: 4,ENCRYPTED\n\n", 1)},
        "no PEM block headers are permitted",
        id="PEM headers",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), CASES)
def test_an_invalid_request_gets_kubernetes_error_naming_the_field(
    changes: dict[str, Any], expected: str
) -> None:
    assert_named(problems(request(**changes)), expected)


def test_a_name_need_only_fit_in_a_url() -> None:
    obj = request()
    obj.metadata.name = "system:node:n1"
    assert problems(obj) == []
    obj.metadata.name = "a/b"
    assert_named(problems(obj), 'metadata.name: Invalid value: "a/b": may not contain "/"')


APPROVED = {"type": "Approved", "status": "True"}
DENIED = {"type": "Denied", "status": "True"}
FAILED = {"type": "Failed", "status": "True"}

UPDATES = [
    pytest.param(
        {},
        {"conditions": [APPROVED]},
        "",
        'status.conditions: Forbidden: updates may not add a condition of type "Approved"',
        id="approved by an update of the object",
    ),
    pytest.param(
        {},
        {"conditions": [DENIED]},
        "status",
        'status.conditions: Forbidden: updates may not add a condition of type "Denied"',
        id="denied through the status",
    ),
    pytest.param(
        {"conditions": [APPROVED]},
        {"conditions": [{**APPROVED, "reason": "Changed"}]},
        "status",
        'status.conditions: Forbidden: updates may not modify a condition of type "Approved"',
        id="an approval changed through the status",
    ),
    pytest.param(
        {"conditions": [APPROVED]},
        {},
        "approval",
        'status.conditions: Forbidden: updates may not remove a condition of type "Approved"',
        id="an approval taken back",
    ),
    pytest.param(
        {"conditions": [APPROVED, FAILED]},
        {"conditions": [APPROVED]},
        "status",
        'status.conditions: Forbidden: updates may not remove a condition of type "Failed"',
        id="a failure taken back",
    ),
    pytest.param(
        {"conditions": [APPROVED]},
        {"conditions": [APPROVED], "certificate": CERTIFICATE},
        "approval",
        "status.certificate: Forbidden: updates may not set certificate content",
        id="a certificate through the approval",
    ),
    pytest.param(
        {"conditions": [APPROVED], "certificate": CERTIFICATE},
        {"conditions": [APPROVED], "certificate": CertificateAuthority.create("other").cert_pem},
        "status",
        "status.certificate: Forbidden: updates may not modify existing certificate content",
        id="a second certificate",
    ),
]


@pytest.mark.parametrize(("before", "after", "subresource", "expected"), UPDATES)
def test_each_door_changes_only_its_part_and_no_decision_is_taken_back(
    before: dict[str, Any], after: dict[str, Any], subresource: str, expected: str
) -> None:
    assert_named(problems(request(**after), request(**before), subresource), expected)


ALLOWED = [
    pytest.param({}, {"conditions": [APPROVED]}, "approval", id="approved"),
    pytest.param({}, {"conditions": [DENIED]}, "approval", id="denied"),
    pytest.param(
        {"conditions": [APPROVED]},
        {"conditions": [APPROVED], "certificate": CERTIFICATE},
        "status",
        id="signed once approved",
    ),
    pytest.param(
        {"conditions": [APPROVED]},
        {"conditions": [APPROVED, FAILED]},
        "status",
        id="failed by the signer",
    ),
]


@pytest.mark.parametrize(("before", "after", "subresource"), ALLOWED)
def test_the_approval_decides_and_the_status_signs(
    before: dict[str, Any], after: dict[str, Any], subresource: str
) -> None:
    assert problems(request(**after), request(**before), subresource) == []
