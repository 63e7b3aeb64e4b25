"""An in-process API server over HTTPS with static tokens and RBAC, and real kubectl as
any of its users: kubectl sends a token only over TLS, so tests of what a user other than
the admin may do through kubectl need one. `admin-token` is in system:masters,
`eddie-token` in no group and bound to nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cli.cluster.pki import CertificateAuthority, write_private, write_public
from master.apiserver.server import ApiServer
from tests.integration.apiserver.kubectl import Kubectl, write_kubeconfig
from tests.support.apiserver import running_apiserver
from tests.support.etcd import EtcdCluster


@dataclass(frozen=True)
class Secured:
    """The server, the CA of its certificate, and the folder of its files."""

    server: ApiServer
    ca: CertificateAuthority
    folder: Path

    def kubectl(self, token: str) -> Kubectl:
        """kubectl with its own kubeconfig sending `token`."""
        assert self.server.status is not None
        url = f"https://127.0.0.1:{self.server.status.port}"
        folder = self.folder / token
        folder.mkdir()
        config = write_kubeconfig(folder / "kubeconfig", url, token=token, ca=self.ca.cert_pem)
        return Kubectl(config, folder / "cache")


@asynccontextmanager
async def secured_apiserver(etcd: EtcdCluster, folder: Path) -> AsyncIterator[Secured]:
    """The server on `etcd`, its certificate and tokens written into `folder`."""
    ca = CertificateAuthority.create("test-cluster-ca")
    served = ca.issue("kube-apiserver", server=True, hosts=["127.0.0.1"])
    write_public(folder / "ca.crt", ca.cert_pem)
    write_public(folder / "apiserver.crt", served.cert)
    write_private(folder / "apiserver.key", served.key)
    tokens = folder / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\neddie-token,eddie,eddie,""\n')
    async with running_apiserver(
        etcd.endpoints,
        token_auth_file=str(tokens),
        authorization_modes=("RBAC",),
        tls_cert_file=str(folder / "apiserver.crt"),
        tls_private_key_file=str(folder / "apiserver.key"),
        client_ca_file=str(folder / "ca.crt"),
    ) as server:
        yield Secured(server, ca, folder)
