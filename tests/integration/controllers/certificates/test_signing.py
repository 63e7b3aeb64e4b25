"""A user gets a client certificate through a CertificateSigningRequest, end to end:
created, approved through `/approval`, signed by the csrsigning controller through
`/status`, and accepted by the API server as that user.

The API server is a secure one (TLS, the test CA as client CA, RBAC), and the controller
manager runs as `system:kube-controller-manager` with its client certificate, so the
default policy's rules for the signer (update of certificatesigningrequests/status,
`sign` on kubernetes.io signers) are what let it write.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cli.cluster.pki import write_private, write_public
from client import errors
from client.api import ApiClient, ClientOptions
from client.tls import ClientCredentials, certificate_subject
from master.apiserver.server import ApiServer
from proto import certificates_pb2
from tests.integration.controllers.conftest import ControllerManager
from tests.support.apiserver import running_apiserver
from tests.support.certificates import KUBELET_CLIENT, CaFiles, ca_files, csr, request_pem
from tests.support.etcd import EtcdCluster
from tests.support.waiting import eventually

CSR = certificates_pb2.CertificateSigningRequest


@pytest.fixture
def ca(tmp_path: Path) -> CaFiles:
    return ca_files(tmp_path, "cluster-ca")


@pytest.fixture
async def server(etcd_clean: EtcdCluster, ca: CaFiles, tmp_path: Path) -> AsyncIterator[ApiServer]:
    served = ca.ca.issue("kube-apiserver", server=True, hosts=["127.0.0.1"])
    write_public(tmp_path / "apiserver.crt", served.cert)
    write_private(tmp_path / "apiserver.key", served.key)
    async with running_apiserver(
        etcd_clean.endpoints,
        authorization_modes=("Node", "RBAC"),
        tls_cert_file=str(tmp_path / "apiserver.crt"),
        tls_private_key_file=str(tmp_path / "apiserver.key"),
        client_ca_file=str(ca.cert_file),
    ) as s:
        yield s


def options(ca: CaFiles, cert: bytes, key: bytes) -> ClientOptions:
    return ClientOptions(tls=ClientCredentials(ca.ca.cert_pem, cert, key), retry_deadline=5.0)


def as_user(server: ApiServer, ca: CaFiles, user: str, *groups: str) -> ApiClient:
    pair = ca.ca.issue(user, organizations=groups, client=True)
    return ApiClient([server.endpoint], options(ca, pair.cert, pair.key))


@pytest.fixture
async def admin(server: ApiServer, ca: CaFiles) -> AsyncIterator[ApiClient]:
    async with as_user(server, ca, "root", "system:masters") as client:
        yield client


@pytest.fixture
async def signer(server: ApiServer, ca: CaFiles) -> AsyncIterator[ControllerManager]:
    pair = ca.ca.issue("system:kube-controller-manager", client=True)
    manager = ControllerManager(server.endpoint, options(ca, pair.cert, pair.key))
    await manager.start(
        controllers=("csrsigning",),
        cluster_signing_cert_file=str(ca.cert_file),
        cluster_signing_key_file=str(ca.key_file),
    )
    try:
        yield manager
    finally:
        await manager.stop()


async def approve(api: ApiClient, name: str) -> None:
    """What `kubectl certificate approve` writes."""
    got: Any = await api.get("certificatesigningrequests", "", name)
    got.status.conditions.add(
        type="Approved", status="True", reason="KubectlApprove", message="approved by the test"
    )
    await api.update_approval(got)


async def settled(api: ApiClient, name: str) -> CSR:
    """The request once the signer has written to it: a certificate or a Failed condition."""

    async def written() -> CSR | None:
        got: Any = await api.get("certificatesigningrequests", "", name)
        decided = got.status.certificate or any(c.type == "Failed" for c in got.status.conditions)
        return got if decided else None

    result: CSR = await eventually(written, timeout=20, what=f"the signer's answer to {name}")
    return result


async def test_an_approved_request_gets_a_certificate_the_api_server_accepts_as_its_user(
    server: ApiServer, ca: CaFiles, admin: ApiClient, signer: ControllerManager
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    await admin.create(csr("jane", request_pem("jane", ["devs"], key=key), expiration_seconds=3600))
    await approve(admin, "jane")

    issued = await settled(admin, "jane")
    signer.check()

    cert = x509.load_pem_x509_certificate(issued.status.certificate)
    cert.verify_directly_issued_by(ca.ca.cert)
    assert certificate_subject(issued.status.certificate) == ("jane", ("devs",))
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= datetime.timedelta(
        hours=1, minutes=5
    )
    jane_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    async with ApiClient(
        [server.endpoint], options(ca, issued.status.certificate, jane_key)
    ) as jane:
        with pytest.raises(errors.Forbidden, match='User "jane" cannot list'):
            await jane.list("configmaps", "default")


async def test_a_request_its_signer_refuses_is_marked_failed_and_never_signed(
    admin: ApiClient, signer: ControllerManager
) -> None:
    pending = request_pem("jane", ["system:nodes"])
    await admin.create(
        csr("not-a-node", pending, KUBELET_CLIENT, ["digital signature", "client auth"])
    )
    await approve(admin, "not-a-node")

    refused = await settled(admin, "not-a-node")
    signer.check()

    assert not refused.status.certificate
    (failed,) = [c for c in refused.status.conditions if c.type == "Failed"]
    assert (failed.status, failed.reason) == ("True", "SignerValidationFailure")
    assert failed.message == "subject common name does not begin with system:node:"
