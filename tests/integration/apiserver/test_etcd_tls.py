"""etcd over TLS, as `tug up` runs it: etcd demands a client certificate of the cluster CA
from its clients and its peers; the API server and the leader election reach it with
theirs; a plaintext client, or one with another CA's certificate, gets nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import aetcd
import pytest

from cli.cluster.pki import CertificateAuthority, write_private, write_public
from client.api import ApiClient
from client.timeouts import within
from client.tls import ClientCredentials
from master.etcdclient import etcd_client
from master.leaderelection.election import ElectionConfig, LeaderElector, Leadership
from proto import core_pb2
from tests.support.apiserver import running_apiserver
from tests.support.etcd import EtcdCluster, EtcdTls, start_etcd
from tests.support.waiting import eventually

KEY = b"/registry/configmaps/default/"


class Pki:
    def __init__(self, folder: Path) -> None:
        self.ca = CertificateAuthority.create("etcd-test-ca")
        served = self.ca.issue("etcd", server=True, client=True, hosts=["127.0.0.1"])
        self.ca_file = folder / "ca.crt"
        self.cert, self.key = folder / "etcd.crt", folder / "etcd.key"
        write_public(self.ca_file, self.ca.cert_pem)
        write_public(self.cert, served.cert)
        write_private(self.key, served.key)

    def client(self, name: str, ca: CertificateAuthority | None = None) -> ClientCredentials:
        pair = (ca or self.ca).issue(name, client=True)
        return ClientCredentials(self.ca.cert_pem, pair.cert, pair.key)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("etcd-pki"))


@pytest.fixture(scope="module")
def etcd_tls(pki: Pki) -> Iterator[EtcdCluster]:
    """Three members, so that their peer TLS is exercised too."""
    tls = EtcdTls(pki.ca_file, pki.cert, pki.key, pki.client("health").ssl_context())
    cluster = start_etcd(3, tls=tls)
    try:
        yield cluster
    finally:
        cluster.stop()


def configmap(name: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name, cm.metadata.namespace = name, "default"
    return cm


async def test_the_api_server_stores_through_etcd_over_tls(etcd_tls: EtcdCluster, pki: Pki) -> None:
    tls = pki.client("kube-apiserver-etcd-client")
    async with running_apiserver(etcd_tls.endpoints, etcd_tls=tls) as server:
        async with ApiClient([server.endpoint]) as api:
            created = await api.create(configmap("over-tls"))
            assert created.metadata.resource_version
    async with etcd_client(etcd_tls.endpoint, pki.client("reader")) as raw:
        assert await raw.get(KEY + b"over-tls") is not None


@pytest.mark.parametrize("who", ["plaintext", "certificate-of-another-ca"])
async def test_etcd_refuses_a_client_without_a_certificate_of_the_ca(
    etcd_tls: EtcdCluster, pki: Pki, who: str
) -> None:
    stranger = pki.client("stranger", CertificateAuthority.create("another-ca"))
    client = etcd_client(etcd_tls.endpoint, None if who == "plaintext" else stranger, timeout=2)
    with pytest.raises(aetcd.exceptions.ClientError):
        async with client:
            await client.put(KEY + b"intruder", b"x")
    async with etcd_client(etcd_tls.endpoint, pki.client("reader")) as raw:
        assert await raw.get(KEY + b"intruder") is None


async def test_a_leader_is_elected_through_etcd_over_tls(etcd_tls: EtcdCluster, pki: Pki) -> None:
    config = ElectionConfig("tls-test", identity="me", lease_ttl=2.0)
    elector = LeaderElector(etcd_tls.endpoints, config, tls=pki.client("system:kube-scheduler"))
    terms: list[Leadership] = []

    async def work(term: Leadership) -> None:
        terms.append(term)
        await asyncio.Event().wait()

    task = asyncio.create_task(elector.run(work))
    try:
        await eventually(lambda: bool(terms), timeout=15, what="a term won through TLS etcd")
        assert elector.is_leader()
    finally:
        elector.stop()
        with contextlib.suppress(BaseException):
            await within(task, timeout=10)
