"""The allocation repair loop frees ClusterIP and NodePort keys that no Service holds,
and leaves every key a Service holds."""

from __future__ import annotations

import aetcd

from client.api import ApiClient
from client.errors import Invalid
from master.apiserver.allocators import IP_PREFIX, PORT_PREFIX
from proto import core_pb2, meta_pb2
from tests.support.etcd import EtcdCluster


def service(name: str, *, ip: str = "", node_port: int = 0) -> core_pb2.Service:
    spec = core_pb2.ServiceSpec(
        type="NodePort",
        cluster_ip=ip,
        selector={"app": name},
        ports=[core_pb2.ServicePort(port=80, node_port=node_port)],
    )
    return core_pb2.Service(metadata=meta_pb2.ObjectMeta(name=name, namespace="default"), spec=spec)


async def allocation_keys(etcd: EtcdCluster) -> set[bytes]:
    host, port = etcd.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as c:
        found = set()
        for prefix in (IP_PREFIX, PORT_PREFIX):
            found |= {bytes(kv.key) for kv in await c.get_prefix(prefix)}
        return found


async def put(etcd: EtcdCluster, key: bytes, owner: str) -> None:
    host, port = etcd.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as c:
        await c.put(key, owner.encode())


async def test_keys_left_without_their_service_are_freed_and_held_ones_kept(
    etcd_clean, apiserver_factory
):
    server = await apiserver_factory.start()
    async with ApiClient([server.endpoint]) as api:
        web = await api.create(service("web"))
        assert isinstance(web, core_pb2.Service)
        held = await allocation_keys(etcd_clean)
        assert len(held) == 2  # its ClusterIP and its NodePort

        # Leaks: a Service that is gone, and a key owned by "web" that web does not hold.
        leaked = {
            IP_PREFIX + b"172.30.255.77": "default/ghost",
            PORT_PREFIX + b"30777": "default/ghost",
            IP_PREFIX + b"172.30.255.78": "default/web",
        }
        for key, owner in leaked.items():
            await put(etcd_clean, key, owner)
        try:
            await api.create(service("wants-77", ip="172.30.255.77"))
            raise AssertionError("the leaked address was handed out twice")
        except Invalid as e:
            assert "spec.clusterIPs" in str(e) or "spec.clusterIP" in str(e)

        assert await server.allocation_repair.repair_once() == 3
        assert await allocation_keys(etcd_clean) == held
        assert await server.allocation_repair.repair_once() == 0

        # The freed address and port serve a new Service.
        taken = await api.create(service("wants-77", ip="172.30.255.77", node_port=30777))
        assert isinstance(taken, core_pb2.Service)
        assert taken.spec.cluster_ip == "172.30.255.77"
