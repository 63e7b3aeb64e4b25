"""The health check ports' answers: counted from the Endpoints, refused while stale."""

from __future__ import annotations

import socket

import aiohttp
from structlog.testing import capture_logs

from client.codec import from_dict
from proto import core_pb2
from proxy.health_check import HealthCheck, ServiceHealthServer, health_checks
from tests.support.ports import free_port


def test_only_ready_addresses_on_this_node_count_each_address_once() -> None:
    svc = from_dict(core_pb2.Service, {
        "metadata": {"name": "lb", "namespace": "shop"},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                 "healthCheckNodePort": 30500},
    })  # fmt: skip
    other = from_dict(core_pb2.Service, {"metadata": {"name": "plain", "namespace": "shop"}})
    here = {"ip": "10.244.0.5", "nodeName": "node-1"}
    ep = from_dict(core_pb2.Endpoints, {
        "metadata": {"name": "lb", "namespace": "shop"},
        "subsets": [
            {"addresses": [here, {"ip": "10.244.1.5", "nodeName": "node-2"}],
             "notReadyAddresses": [{"ip": "10.244.0.6", "nodeName": "node-1"}],
             "ports": [{"name": "http", "port": 8080}]},
            {"addresses": [here], "ports": [{"name": "admin", "port": 9090}]},
        ],
    })  # fmt: skip

    checks = health_checks([svc, other], {"shop/lb": ep}, "node-1")

    assert checks == {30500: HealthCheck("shop", "lb", 1)}
    assert health_checks([svc], {}, "node-1") == {30500: HealthCheck("shop", "lb", 0)}


async def test_a_proxy_whose_syncs_stopped_answers_503_even_with_local_endpoints() -> None:
    syncing = True
    server = ServiceHealthServer("127.0.0.1", lambda: syncing)
    port = free_port("127.0.0.1")
    await server.sync({port: HealthCheck("shop", "lb", 2)})
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("application/json")
                assert (await resp.json())["serviceProxyHealthy"] is True
            syncing = False
            async with session.get(f"http://127.0.0.1:{port}/any/path") as resp:
                assert resp.status == 503
                assert await resp.json() == {
                    "service": {"namespace": "shop", "name": "lb"},
                    "localEndpoints": 2,
                    "serviceProxyHealthy": False,
                }
        assert server.ports == {port}
        await server.sync({})
        assert server.ports == set()
    finally:
        await server.stop()


async def test_a_port_another_socket_holds_is_reported_once_and_taken_when_freed() -> None:
    port = free_port("127.0.0.1")
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))
    holder.listen()
    server = ServiceHealthServer("127.0.0.1", lambda: True)
    checks = {port: HealthCheck("shop", "lb", 1)}
    try:
        with capture_logs() as logged:
            for _ in range(3):
                await server.sync(checks)
        assert [e["port"] for e in logged if e["event"].startswith("cannot listen")] == [port]
        assert server.ports == set()
        holder.close()
        await server.sync(checks)
        assert server.ports == {port}
    finally:
        holder.close()
        await server.stop()
