"""ClusterIPs on the project's `tugboat-svc` interface, reachable from the host (needs root)."""

from __future__ import annotations

import asyncio
import os

import pytest

from client.api import ApiClient
from proxy.network import INTERFACE, Interface
from proxy.settings import DEFAULT_SERVICE_RANGE
from tests.integration.proxy.conftest import Backend, ProxyFactory, ask, service, set_endpoints
from tests.integration.proxy.test_udp_and_dns import dns_query
from tests.support.waiting import eventually

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="adding addresses needs root")

NODE = "127.0.0.23"


async def test_a_cluster_ip_serves_from_the_host_and_leaves_with_its_service(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    web = await api.create(service("web", port=8080))
    await set_endpoints(api, "web", backends)
    proxier = await proxies.start(NODE, interface=INTERFACE)
    ip = web.spec.cluster_ip
    names = {b.name for b in backends}
    interface = Interface(INTERFACE, DEFAULT_SERVICE_RANGE)

    async def served() -> bool:
        try:
            return await ask(ip, 8080, timeout=1.0) in names
        except OSError:
            return False

    await eventually(served, what=f"ClusterIP {ip}:8080 serving")
    assert ip in await interface.present()
    answers = {await ask(ip, 8080) for _ in range(6)}
    assert answers == names

    await api.delete("services", "default", "web")

    async def gone() -> bool:
        return ip not in await interface.present()

    await eventually(gone, what="the address removed")
    with pytest.raises(OSError):
        async with asyncio.timeout(2.0):
            await asyncio.open_connection(ip, 8080)
    assert proxier.listeners == {}


async def test_cluster_dns_answers_on_its_own_address(
    api: ApiClient, proxies: ProxyFactory
) -> None:
    web = await api.create(service("web"))
    proxier = await proxies.start(NODE, interface=INTERFACE)
    dns_ip = proxier.settings.cluster_dns_ip
    await eventually(lambda: (dns_ip, 53) in proxier.dns.addresses, what="cluster DNS listening")

    async def resolves() -> bool:
        reply = await dns_query((dns_ip, 53), "web.default.svc.cluster.local", "A")
        return [str(r.rdata) for r in reply.rr] == [web.spec.cluster_ip]

    await eventually(resolves, what="the ClusterIP from the cluster DNS address")
