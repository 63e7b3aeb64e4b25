"""An API server with a serving certificate and a client CA: gRPC is TLS and demands a
certificate of the cluster CA, whose CN is the user and whose O are the groups; HTTPS takes
the same certificates, or a token. Anything else is refused before a request is read, and
nothing is written."""

from __future__ import annotations

import asyncio
import datetime
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.cluster import hostpki
from cli.cluster.pki import CertificateAuthority, KeyPair, write_private, write_public
from client import errors
from client.api import ApiClient, ClientOptions
from client.tls import ClientCredentials
from master.apiserver.server import ApiServer
from proto import core_pb2
from tests.support.apiserver import running_apiserver
from tests.support.etcd import EtcdCluster
from tests.support.waiting import eventually


@dataclass
class Pki:
    ca: CertificateAuthority
    other: CertificateAuthority
    folder: Path

    def user(self, name: str, *groups: str, ca: CertificateAuthority | None = None) -> KeyPair:
        return (ca or self.ca).issue(name, organizations=groups, client=True)

    def credentials(self, pair: KeyPair | None = None, *, trust: bytes = b"") -> ClientCredentials:
        return ClientCredentials(
            trust or self.ca.cert_pem,
            pair.cert if pair else None,
            pair.key if pair else None,
        )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = CertificateAuthority.create("test-cluster-ca")
    served = ca.issue("kube-apiserver", server=True, hosts=["127.0.0.1", "localhost"])
    write_public(tmp_path / "ca.crt", ca.cert_pem)
    write_public(tmp_path / "apiserver.crt", served.cert)
    write_private(tmp_path / "apiserver.key", served.key)
    return Pki(ca, CertificateAuthority.create("someone-elses-ca"), tmp_path)


def secure_apiserver(
    etcd: EtcdCluster, pki: Pki, *, client_ca: Path | None = None, **options: Any
) -> AbstractAsyncContextManager[ApiServer]:
    """An API server with the fixture's certificate, its client CA (or `client_ca`), Node
    and RBAC."""
    return running_apiserver(
        etcd.endpoints,
        authorization_modes=("Node", "RBAC"),
        tls_cert_file=str(pki.folder / "apiserver.crt"),
        tls_private_key_file=str(pki.folder / "apiserver.key"),
        client_ca_file=str(client_ca or pki.folder / "ca.crt"),
        **options,
    )


@pytest.fixture
async def server(etcd_clean: EtcdCluster, pki: Pki) -> AsyncIterator[ApiServer]:
    async with secure_apiserver(etcd_clean, pki, register=True) as s:
        yield s


def client(server: ApiServer, tls: ClientCredentials | None) -> ApiClient:
    return ApiClient(
        [server.endpoint], ClientOptions(tls=tls, retry_deadline=2.0, connect_timeout=1.0)
    )


def configmap(name: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name, cm.metadata.namespace = name, "default"
    return cm


async def test_a_certificate_of_the_cluster_ca_is_its_cn_in_the_groups_of_its_o(
    server: ApiServer, pki: Pki
) -> None:
    async with client(server, pki.credentials(pki.user("root", "system:masters"))) as admin:
        created = await admin.create(configmap("by-cert"))
        assert created.metadata.name == "by-cert"
    async with client(server, pki.credentials(pki.user("alice", "devs"))) as alice:
        with pytest.raises(errors.Forbidden, match='User "alice" cannot create'):
            await alice.create(configmap("by-alice"))


async def test_the_loopback_client_works_over_its_own_socket_under_tls(
    server: ApiServer, pki: Pki
) -> None:
    """Registration writes through the server's own client, which has no certificate."""
    async with client(server, pki.credentials(pki.user("root", "system:masters"))) as admin:

        async def registered() -> bool:
            leases = await admin.list("leases", "kube-system")
            return any(
                lease.metadata.labels.get("tugboat.io/component") == "tug-apiserver"
                for lease in leases.items
            )

        await eventually(registered, timeout=10, what="the API server's registration Lease")


@pytest.mark.parametrize(
    "who",
    [
        "plaintext",
        "tls-without-certificate",
        "certificate-of-another-ca",
        "expired-certificate",
        "trusting-another-ca",
    ],
)
async def test_grpc_callers_without_a_valid_certificate_are_refused_and_write_nothing(
    server: ApiServer, pki: Pki, who: str
) -> None:
    expired = pki.ca.issue(
        "late",
        organizations=["system:masters"],
        client=True,
        valid_days=1,
        not_before=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3),
    )
    masters = ("system:masters",)
    tls = {
        "plaintext": None,
        "tls-without-certificate": pki.credentials(),
        "certificate-of-another-ca": pki.credentials(pki.user("root", *masters, ca=pki.other)),
        "expired-certificate": pki.credentials(expired),
        "trusting-another-ca": pki.credentials(
            pki.user("root", *masters), trust=pki.other.cert_pem
        ),
    }[who]
    async with client(server, tls) as api:
        with pytest.raises(errors.Unavailable):
            await api.create(configmap(f"by-{who}"))
    async with client(server, pki.credentials(pki.user("root", *masters))) as admin:
        names = [cm.metadata.name for cm in (await admin.list("configmaps", "default")).items]
        assert f"by-{who}" not in names


def _https(server: ApiServer, pki: Pki, pair: KeyPair | None) -> tuple[int, Any]:
    assert server.status is not None
    context = pki.credentials(pair).ssl_context()
    url = f"https://127.0.0.1:{server.status.port}/api/v1/namespaces/default/configmaps"
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def test_https_takes_the_same_certificates_and_refuses_a_caller_without_any(
    server: ApiServer, pki: Pki
) -> None:
    code, body = await asyncio.to_thread(_https, server, pki, pki.user("root", "system:masters"))
    assert (code, body["kind"]) == (200, "ConfigMapList")
    code, body = await asyncio.to_thread(_https, server, pki, pki.user("alice"))
    assert (code, body["reason"]) == (403, "Forbidden")
    assert 'User "alice"' in body["message"]
    code, body = await asyncio.to_thread(_https, server, pki, None)
    assert (code, body["reason"]) == (401, "Unauthorized")


async def test_https_refuses_a_certificate_of_another_ca_in_the_handshake(
    server: ApiServer, pki: Pki
) -> None:
    stranger = pki.user("root", "system:masters", ca=pki.other)
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        await asyncio.to_thread(_https, server, pki, stranger)


async def test_a_client_ca_bundle_admits_each_of_its_cas_by_both_doors_and_no_other(
    etcd_clean: EtcdCluster, pki: Pki
) -> None:
    """A secure cluster's --client-ca-file holds the cluster CA and the controller
    manager's client signer in one PEM file: gRPC's root certificates and Python's ssl
    must both read every CA of it, and still refuse a certificate of any other."""
    signer = CertificateAuthority.create("test-client-signer")
    bundle = pki.folder / "client-ca.crt"
    write_public(bundle, hostpki.client_ca_bundle(pki.ca, signer))
    async with secure_apiserver(etcd_clean, pki, client_ca=bundle) as server:
        for which, ca in (("cluster", pki.ca), ("signer", signer)):
            pair = pki.user("root", "system:masters", ca=ca)
            async with client(server, pki.credentials(pair)) as api:
                created = await api.create(configmap(f"by-{which}"))
                assert created.metadata.name == f"by-{which}"
            code, body = await asyncio.to_thread(_https, server, pki, pair)
            assert (code, body["kind"]) == (200, "ConfigMapList"), which
        stranger = pki.user("root", "system:masters", ca=pki.other)
        async with client(server, pki.credentials(stranger)) as api:
            with pytest.raises(errors.Unavailable):
                await api.create(configmap("by-stranger"))
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            await asyncio.to_thread(_https, server, pki, stranger)


def _get(server: ApiServer, pki: Pki, path: str, pair: KeyPair | None) -> tuple[int, str]:
    assert server.status is not None
    context = pki.credentials(pair).ssl_context()
    url = f"https://127.0.0.1:{server.status.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.parametrize("anonymous", [True, False])
async def test_metrics_are_open_or_need_system_monitoring_as_the_flag_says(
    etcd_clean: EtcdCluster, pki: Pki, anonymous: bool
) -> None:
    async with secure_apiserver(etcd_clean, pki, anonymous_metrics=anonymous) as server:
        monitor = pki.user("prometheus", "system:monitoring")
        nobody, alice = None, pki.user("alice")
        codes = {
            who: (await asyncio.to_thread(_get, server, pki, "/metrics", pair))[0]
            for who, pair in (("nobody", nobody), ("alice", alice), ("monitor", monitor))
        }
        if anonymous:
            assert codes == {"nobody": 200, "alice": 200, "monitor": 200}
        else:
            assert codes == {"nobody": 401, "alice": 403, "monitor": 200}
            _, body = await asyncio.to_thread(_get, server, pki, "/metrics", monitor)
            assert "tugboat_apiserver_requests_total" in body
        # Health stays open either way.
        assert (await asyncio.to_thread(_get, server, pki, "/healthz", None))[0] == 200
