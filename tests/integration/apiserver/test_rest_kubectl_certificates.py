"""The docs' "normal user" flow with the real kubectl, on an API server with tokens and RBAC:
a user asks for a certificate (`kubectl apply` of a CertificateSigningRequest), an admin
lists it (`kubectl get csr`) and approves or denies it (`kubectl certificate`, which
writes `/approval` in protobuf), and whoever sets the certificate must be allowed to
`sign` for the request's signer, as whoever decides must be allowed to `approve`."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.cluster.pki import CertificateAuthority
from client import errors
from client.api import ApiClient, ClientOptions
from client.tls import ClientCredentials
from proto import certificates_pb2
from tests.integration.apiserver.https import Secured, secured_apiserver
from tests.integration.apiserver.kubectl import KUBECTL, Kubectl
from tests.support.certificates import CLIENT, request_pem
from tests.support.etcd import EtcdCluster
from tests.support.webhook_server import WebhookServer, patch_answer

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

REQUESTER = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: csr-requester}
rules:
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests]
  verbs: [create, get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: eddie-requests}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: csr-requester}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: eddie}]
"""


def manifest(name: str, request: bytes) -> str:
    """The docs' CSR: one day of client auth from the API server's client signer."""
    return yaml.safe_dump(
        {
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {
                "request": base64.b64encode(request).decode(),
                "signerName": CLIENT,
                "expirationSeconds": 86400,
                "usages": ["client auth"],
            },
        }
    )


def grant(name: str, verbs: str, resource: str, names: str = "") -> str:
    """A ClusterRole of one rule in certificates.k8s.io, bound to eddie."""
    rule: dict[str, list[str]] = {
        "apiGroups": ["certificates.k8s.io"],
        "resources": [resource],
        "verbs": verbs.split(),
    }
    if names:
        rule["resourceNames"] = names.split()
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": [rule],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"eddie-{name}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "eddie"}],
    }
    return yaml.safe_dump_all([role, binding])


@pytest.fixture
async def secured(etcd_clean: EtcdCluster, tmp_path: Path) -> AsyncIterator[Secured]:
    async with secured_apiserver(etcd_clean, tmp_path) as found:
        yield found


@pytest.fixture
async def admin(secured: Secured) -> Kubectl:
    """In system:masters."""
    return secured.kubectl("admin-token")


@pytest.fixture
async def user(secured: Secured, admin: Kubectl) -> Kubectl:
    """eddie, who may create and read CSRs and nothing else of them."""
    await admin.ok("apply", "-f", "-", stdin=REQUESTER)
    return secured.kubectl("eddie-token")


async def csr_json(kubectl: Kubectl, name: str) -> Any:
    return json.loads(await kubectl.ok("get", "csr", name, "-o", "json"))


async def condition(kubectl: Kubectl, name: str) -> str:
    """The CONDITION column of `kubectl get csr NAME`."""
    return (await kubectl.ok("get", "csr", name, "--no-headers")).split()[-1]


async def test_a_users_request_is_pending_under_their_name_until_kubectl_approves_it(
    admin: Kubectl, user: Kubectl
):
    out = await user.ok("apply", "-f", "-", stdin=manifest("myuser", request_pem("myuser")))
    assert out.strip() == "certificatesigningrequest.certificates.k8s.io/myuser created"
    header, row = (line.split() for line in (await admin.ok("get", "csr")).splitlines())
    assert header == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    assert [row[0], *row[2:]] == ["myuser", CLIENT, "eddie", "24h", "Pending"]
    spec = (await csr_json(admin, "myuser"))["spec"]
    assert (spec["username"], spec["groups"]) == ("eddie", ["system:authenticated"])

    out = await admin.ok("certificate", "approve", "myuser")
    assert out.strip() == "certificatesigningrequest.certificates.k8s.io/myuser approved"
    (approved,) = (await csr_json(admin, "myuser"))["status"]["conditions"]
    assert (approved["type"], approved["status"], approved["reason"]) == (
        "Approved",
        "True",
        "KubectlApprove",
    )
    assert approved["lastUpdateTime"] and approved["lastTransitionTime"]
    assert await condition(admin, "myuser") == "Approved"


async def test_a_denied_request_stays_denied_and_approving_it_is_refused(admin: Kubectl):
    await admin.ok("apply", "-f", "-", stdin=manifest("other", request_pem("other")))
    out = await admin.ok("certificate", "deny", "other")
    assert out.strip() == "certificatesigningrequest.certificates.k8s.io/other denied"
    assert await condition(admin, "other") == "Denied"

    ran = await admin("certificate", "approve", "other")
    assert (ran.code, ran.err) == (
        1,
        'error: certificate signing request "other" is already Denied\n',
    )
    assert await condition(admin, "other") == "Denied"


async def test_a_request_that_is_not_pem_is_refused_naming_spec_request(admin: Kubectl):
    ran = await admin("apply", "-f", "-", stdin=manifest("junk", b"hi"))
    assert ran.code == 1
    assert (
        "spec.request: Invalid value: []byte{0x68, 0x69}: PEM block type must be CERTIFICATE "
        "REQUEST" in ran.err
    )


async def test_the_client_signer_refuses_a_request_for_system_masters(admin: Kubectl):
    request = request_pem("root", ["system:masters"])
    ran = await admin("apply", "-f", "-", stdin=manifest("root", request))
    assert ran.code == 1
    assert (
        'certificatesigningrequests.certificates.k8s.io "root" is forbidden: use of '
        f"{CLIENT} signer with system:masters group is not allowed" in ran.err
    )


async def test_approving_needs_approve_on_the_signer_besides_update_of_the_approval(
    admin: Kubectl, user: Kubectl
):
    await user.ok("apply", "-f", "-", stdin=manifest("mine", request_pem("mine")))
    await admin.ok(
        "apply", "-f", "-", stdin=grant("approver", "update", "certificatesigningrequests/approval")
    )

    ran = await user("certificate", "approve", "mine")
    assert ran.code == 1
    assert (
        'certificatesigningrequests.certificates.k8s.io "mine" is forbidden: user not permitted '
        f'to approve requests with signerName "{CLIENT}"' in ran.err
    )
    assert await condition(admin, "mine") == "Pending"

    await admin.ok("apply", "-f", "-", stdin=grant("client-approver", "approve", "signers", CLIENT))
    await user.ok("certificate", "approve", "mine")
    assert await condition(admin, "mine") == "Approved"


async def test_setting_the_certificate_needs_sign_on_the_signer_and_happens_once(
    admin: Kubectl, user: Kubectl
):
    await user.ok("apply", "-f", "-", stdin=manifest("signed", request_pem("signed")))
    await admin.ok("certificate", "approve", "signed")
    await admin.ok(
        "apply",
        "-f",
        "-",
        stdin=grant("status-writer", "get update patch", "certificatesigningrequests/status"),
    )
    issued = CertificateAuthority.create("issued").cert_pem
    patch = json.dumps({"status": {"certificate": base64.b64encode(issued).decode()}})
    set_certificate = (
        "patch",
        "csr",
        "signed",
        "--subresource=status",
        "--type=merge",
        "-p",
        patch,
    )

    ran = await user(*set_certificate)
    assert ran.code == 1
    assert (
        'certificatesigningrequests.certificates.k8s.io "signed" is forbidden: user not '
        f'permitted to sign requests with signerName "{CLIENT}"' in ran.err
    )

    await admin.ok("apply", "-f", "-", stdin=grant("signer", "sign", "signers", "kubernetes.io/*"))
    await user.ok(*set_certificate)
    printed = await admin.ok("get", "csr", "signed", "-o", "jsonpath={.status.certificate}")
    assert base64.b64decode(printed) == issued
    assert await condition(admin, "signed") == "Approved,Issued"

    other = CertificateAuthority.create("other").cert_pem
    patch = json.dumps({"status": {"certificate": base64.b64encode(other).decode()}})
    ran = await user(*set_certificate[:-1], patch)
    assert ran.code == 1
    assert (
        "status.certificate: Forbidden: updates may not modify existing certificate content"
        in ran.err
    )


@pytest.fixture
async def api(secured: Secured) -> AsyncIterator[ApiClient]:
    # gRPC takes certificates only: the admin's, in system:masters.
    pair = secured.ca.issue("admin", organizations=["system:masters"], client=True)
    tls = ClientCredentials(secured.ca.cert_pem, pair.cert, pair.key)
    client = ApiClient([secured.server.endpoint], ClientOptions(tls=tls))
    try:
        yield client
    finally:
        await client.close()


async def test_the_grpc_client_decides_through_the_same_subresource(api: ApiClient, admin: Kubectl):
    await admin.ok("apply", "-f", "-", stdin=manifest("viagrpc", request_pem("viagrpc")))
    csr = await api.get("certificatesigningrequests", "", "viagrpc")
    assert isinstance(csr, certificates_pb2.CertificateSigningRequest)
    csr.status.conditions.add(type="Denied", status="True", reason="ByGrpc")
    csr.spec.signer_name = "example.com/ignored"  # the approval takes the conditions only
    denied = await api.update_approval(csr)
    assert [c.type for c in denied.status.conditions] == ["Denied"]
    assert denied.spec.signer_name == CLIENT
    assert await condition(admin, "viagrpc") == "Denied"
    # What kubectl refuses to send even with --force, the server refuses too.
    denied.status.conditions.add(type="Approved", status="True", reason="ByGrpc")
    with pytest.raises(errors.Invalid, match="Approved and Denied conditions are mutually"):
        await api.update_approval(denied)


async def test_a_condition_written_through_status_needs_sign_on_the_signer(
    admin: Kubectl, user: Kubectl
):
    """A Failed condition stops a request from ever being signed: it is the signer's word,
    as Kubernetes' CertificateSigning plugin judges it."""
    await user.ok("apply", "-f", "-", stdin=manifest("blocked", request_pem("blocked")))
    await admin.ok(
        "apply",
        "-f",
        "-",
        stdin=grant("status-writer", "get update patch", "certificatesigningrequests/status"),
    )
    failed = {"type": "Failed", "status": "True", "reason": "Sabotage", "message": "no"}
    patch = json.dumps({"status": {"conditions": [failed]}})
    ran = await user("patch", "csr", "blocked", "--subresource=status", "--type=merge", "-p", patch)
    assert ran.code == 1
    assert f'permitted to sign requests with signerName "{CLIENT}"' in ran.err
    assert await condition(admin, "blocked") == "Pending"


async def test_a_mutating_webhook_cannot_choose_the_requester_or_the_outcome(
    admin: Kubectl, user: Kubectl, hooks: WebhookServer
):
    """As in Kubernetes, where mutating admission comes before the strategy's own
    preparation: the requester is the caller, and a new request has no status."""
    forged: list[dict[str, Any]] = [
        {"op": "replace", "path": "/spec/username", "value": "admin"},
        {"op": "add", "path": "/spec/groups", "value": ["system:masters"]},
        {"op": "add", "path": "/status", "value": {"conditions": [
            {"type": "Approved", "status": "True", "reason": "Forged"}]}},
    ]  # fmt: skip
    hooks.answers["/forge"] = lambda _request: patch_answer(forged)
    config = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "forge.example.com"},
        "webhooks": [{
            "name": "forge.example.com",
            "clientConfig": {"url": hooks.url("/forge"), "caBundle": hooks.ca_bundle},
            "rules": [{"apiGroups": ["certificates.k8s.io"], "apiVersions": ["v1"],
                       "operations": ["CREATE"], "resources": ["certificatesigningrequests"]}],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
        }],
    }  # fmt: skip
    await admin.ok("apply", "-f", "-", stdin=yaml.safe_dump(config))
    await user.ok("apply", "-f", "-", stdin=manifest("forged", request_pem("forged")))
    assert hooks.reviews["/forge"], "the webhook was called"
    stored = json.loads(await admin.ok("get", "csr", "forged", "-o", "json"))
    assert stored["spec"]["username"] == "eddie"
    assert "system:masters" not in stored["spec"].get("groups", [])
    assert not stored.get("status", {}).get("conditions")
