"""The CSR strategy: who asked is the caller, and each door writes only its part."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from client.informer import copy_object
from client.kinds import by_resource
from master.apiserver.admission.caller import CALLER
from master.apiserver.auth.user import UserInfo
from master.apiserver.strategies import strategy_for
from proto import certificates_pb2
from tests.support.certificates import csr, request_pem

STRATEGY = strategy_for(by_resource("certificatesigningrequests"))
ANN = UserInfo("ann", ("devs", "system:authenticated"), "uid-ann", {"scopes": ("read",)})
CSR = certificates_pb2.CertificateSigningRequest


@pytest.fixture
def as_ann() -> Iterator[None]:
    token = CALLER.set(ANN)
    try:
        yield
    finally:
        CALLER.reset(token)


def forged() -> CSR:
    """A request claiming to be root's, approved and signed already."""
    obj = csr("mine", request_pem("mine"), conditions=["Approved"], certificate=b"PEM")
    obj.spec.username, obj.spec.uid = "root", "uid-root"
    obj.spec.groups.append("system:masters")
    obj.spec.extra["scopes"].items.append("everything")
    return obj


@pytest.mark.usefixtures("as_ann")
def test_a_created_request_is_the_callers_whatever_the_client_wrote() -> None:
    obj = forged()
    STRATEGY.prepare_for_create(obj)
    assert (obj.spec.username, obj.spec.uid) == ("ann", "uid-ann")
    assert list(obj.spec.groups) == ["devs", "system:authenticated"]
    assert {k: list(v.items) for k, v in obj.spec.extra.items()} == {"scopes": ["read"]}
    assert not obj.HasField("status")


def test_a_request_the_server_creates_itself_names_nobody() -> None:
    obj = forged()
    STRATEGY.prepare_for_create(obj)
    assert (obj.spec.username, obj.spec.uid, list(obj.spec.groups)) == ("", "", [])
    assert not obj.spec.extra


def test_an_update_of_the_object_keeps_the_stored_spec() -> None:
    old = csr("mine", request_pem("mine"))
    new: Any = copy_object(old)
    new.spec.signer_name = "example.com/other"
    new.spec.usages.append("server auth")
    new.metadata.labels["team"] = "a"
    STRATEGY.prepare_for_update(new, old)
    assert new.spec == old.spec
    assert new.metadata.labels["team"] == "a"


def test_the_approval_takes_only_the_conditions_and_stamps_them() -> None:
    stored = csr("mine", request_pem("mine"))
    incoming: Any = copy_object(stored)
    incoming.spec.signer_name = "example.com/other"
    incoming.status.certificate = b"PEM"
    incoming.status.conditions.add(type="Approved", status="True", reason="KubectlApprove")
    STRATEGY.subresources["approval"](stored, incoming)
    assert stored.spec.signer_name == "kubernetes.io/kube-apiserver-client"
    assert stored.status.certificate == b""
    (approved,) = stored.status.conditions
    assert (approved.type, approved.reason) == ("Approved", "KubectlApprove")
    assert approved.last_update_time and approved.last_transition_time


def test_a_status_write_keeps_the_stored_decision_and_stamps_what_it_adds() -> None:
    old = csr("mine", request_pem("mine"), conditions=["Approved"])
    stamped = old.status.conditions[0]
    stamped.last_update_time = stamped.last_transition_time = "2026-01-01T00:00:00Z"
    new: Any = copy_object(old)
    new.status.conditions[0].reason = "Rewritten"
    new.status.conditions.add(type="Failed", status="True", reason="SignerFailed")
    new.status.certificate = b"PEM"
    STRATEGY.prepare_for_status_update(new, old)
    approved, failed = new.status.conditions
    assert approved == old.status.conditions[0]
    assert failed.last_update_time and failed.last_transition_time
    assert new.status.certificate == b"PEM"


def test_a_condition_rewritten_without_times_keeps_its_transition_time() -> None:
    old = csr("mine", request_pem("mine"), conditions=["Failed"])
    old.status.conditions[0].last_transition_time = "2026-01-01T00:00:00Z"
    new: Any = copy_object(old)
    new.status.conditions[0].ClearField("last_transition_time")
    new.status.conditions[0].message = "still failing"
    STRATEGY.prepare_for_status_update(new, old)
    assert new.status.conditions[0].last_transition_time == "2026-01-01T00:00:00Z"


def test_the_certificate_is_set_once_through_the_status_only() -> None:
    old = csr("mine", request_pem("mine"), conditions=["Approved"])
    signed: Any = copy_object(old)
    signed.status.certificate = b"-"  # the content is validation's; here only the door
    found = [str(p) for p in STRATEGY.problems(signed, old, subresource="status")]
    assert not [p for p in found if "Forbidden" in p]
    again: Any = copy_object(signed)
    again.status.certificate = b"+"
    found = [str(p) for p in STRATEGY.problems(again, signed, subresource="status")]
    assert (
        "status.certificate: Forbidden: updates may not modify existing certificate content"
        in found
    )
    found = [str(p) for p in STRATEGY.problems(signed, old)]
    assert "status.certificate: Forbidden: updates may not set certificate content" in found
