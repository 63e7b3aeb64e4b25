"""The proxy in process against a real API server and loopback backends, over TCP."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest
from structlog.testing import capture_logs

from client.api import ApiClient
from proxy.balancer import LEAST_CONNECTIONS
from tests.integration.proxy.conftest import Backend, ProxyFactory, ask, service, set_endpoints
from tests.support.waiting import eventually

NODE = "127.0.0.21"


def node_port() -> int:
    return random.randint(30000, 32767)


async def serving(ip: str, port: int, names: set[str]) -> bool:
    """True when a connection gets an answer from one of `names`."""
    try:
        return await ask(ip, port, timeout=1.0) in names
    except (OSError, TimeoutError):
        return False


async def test_connections_spread_evenly_over_three_endpoints(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np))
    await set_endpoints(api, "web", backends)
    await proxies.start(NODE)
    names = {b.name for b in backends}
    await eventually(lambda: serving(NODE, np, names), what="the nodePort serving")

    counts = Counter([await ask(NODE, np) for _ in range(300)])

    assert set(counts) == names
    for name, n in counts.items():
        assert 80 <= n <= 120, f"{name} got {n} of 300: {counts}"


async def test_with_no_ready_endpoint_a_new_connection_is_refused_at_once(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np))
    await set_endpoints(api, "web", backends[:1])
    proxier = await proxies.start(NODE)
    await eventually(lambda: serving(NODE, np, {"pod-0"}), what="serving")

    await set_endpoints(api, "web", [], not_ready=backends[:1])
    await eventually(lambda: not proxier.listeners, what="the listener closed")

    with pytest.raises(ConnectionRefusedError):
        async with asyncio.timeout(1.0):
            await asyncio.open_connection(NODE, np)

    await set_endpoints(api, "web", backends[1:2])
    await eventually(lambda: serving(NODE, np, {"pod-1"}), what="served again")


async def test_an_open_connection_to_a_removed_endpoint_drains_and_new_ones_go_elsewhere(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np))
    await set_endpoints(api, "web", backends[:1])
    proxier = await proxies.start(NODE)
    await eventually(lambda: serving(NODE, np, {"pod-0"}), what="serving")
    reader, writer = await asyncio.open_connection(NODE, np)
    try:
        writer.write(b"one\n")
        assert (await reader.readline()).strip() == b"pod-0"

        await set_endpoints(api, "web", backends[1:2])
        port = proxier.ports["default/web"]
        await eventually(
            lambda: port.balancer.backends[0].ip == backends[1].ip, what="the new endpoint"
        )

        assert await ask(NODE, np) == "pod-1"
        writer.write(b"two\n")
        assert (await reader.readline()).strip() == b"pod-0", "the open connection was cut"
    finally:
        writer.close()


async def test_an_endpoint_that_refuses_is_skipped_and_counted(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np))
    dead = Backend("dead", "127.0.0.14", backends[0].port)  # never started: refuses
    await set_endpoints(api, "web", [dead, backends[0]])
    proxier = await proxies.start(NODE)
    await eventually(lambda: serving(NODE, np, {"pod-0"}), what="serving")

    answers = {await ask(NODE, np) for _ in range(6)}

    assert answers == {"pod-0"}
    assert proxier.ports["default/web"].errors._value.get() >= 1


async def test_client_ip_affinity_sends_one_client_to_one_endpoint(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np, affinity=True))
    await set_endpoints(api, "web", backends)
    await proxies.start(NODE)
    names = {b.name for b in backends}
    await eventually(lambda: serving(NODE, np, names), what="serving")

    answers = {await ask(NODE, np) for _ in range(20)}

    assert len(answers) == 1


async def test_named_ports_of_one_service_go_to_their_own_endpoint_ports(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    from proto import core_pb2

    np1, np2 = node_port(), node_port()
    ports = [
        core_pb2.ServicePort(name="http", port=80, protocol="TCP", node_port=np1),
        core_pb2.ServicePort(name="admin", port=81, protocol="TCP", node_port=np2),
    ]
    await api.create(service("web", node_port=np1, ports=ports))
    from proto import meta_pb2

    ep = core_pb2.Endpoints(metadata=meta_pb2.ObjectMeta(name="web", namespace="default"))
    for b, name in ((backends[0], "http"), (backends[1], "admin")):
        subset = ep.subsets.add()
        subset.addresses.add(ip=b.ip)
        subset.ports.add(name=name, port=b.port, protocol="TCP")
    await api.create(ep)
    await proxies.start(NODE)

    await eventually(lambda: serving(NODE, np1, {"pod-0"}), what="http port")
    await eventually(lambda: serving(NODE, np2, {"pod-1"}), what="admin port")


async def test_a_restarted_proxy_resyncs_what_changed_while_it_was_down(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np))
    await set_endpoints(api, "web", backends[:1])
    first = await proxies.start(NODE)
    await eventually(lambda: serving(NODE, np, {"pod-0"}), what="serving")

    await proxies.stop(first)
    await set_endpoints(api, "web", backends[2:3])
    np2 = node_port()
    await api.create(service("api", node_port=np2))
    await set_endpoints(api, "api", backends[1:2])
    await proxies.start(NODE)

    await eventually(lambda: serving(NODE, np, {"pod-2"}), what="web on its new endpoint")
    await eventually(lambda: serving(NODE, np2, {"pod-1"}), what="the service made meanwhile")


async def test_deleting_the_service_stops_its_listener(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np))
    await set_endpoints(api, "web", backends[:1])
    proxier = await proxies.start(NODE)
    await eventually(lambda: serving(NODE, np, {"pod-0"}), what="serving")

    await api.delete("services", "default", "web")

    await eventually(lambda: not proxier.listeners, what="no listener left")
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(NODE, np)


async def test_bytes_and_connections_are_counted_per_service(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np))
    await set_endpoints(api, "web", backends[:1])
    proxier = await proxies.start(NODE)
    await eventually(lambda: serving(NODE, np, {"pod-0"}), what="serving")
    port = proxier.ports["default/web"]
    before = port.connections._value.get()

    for _ in range(5):
        await ask(NODE, np)

    await eventually(lambda: not port.flows, what="connections closed")
    assert port.connections._value.get() - before == 5
    assert port.bytes_in._value.get() >= 5 * len(b"who\n")
    assert port.bytes_out._value.get() >= 5 * len(b"pod-0\n")


async def test_least_connections_sends_new_connections_where_fewest_are_open(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = node_port()
    await api.create(service("web", node_port=np))
    await set_endpoints(api, "web", backends)
    await proxies.start(NODE, mode=LEAST_CONNECTIONS)
    names = {b.name for b in backends}
    await eventually(lambda: serving(NODE, np, names), what="the nodePort serving")
    held: list[tuple[str, asyncio.StreamWriter]] = []

    async def hold() -> str:
        """One connection kept open, and the backend that answered on it."""
        async with asyncio.timeout(3.0):
            reader, writer = await asyncio.open_connection(NODE, np)
            writer.write(b"who\n")
            await writer.drain()
            name = (await reader.readline()).decode().strip()
        held.append((name, writer))
        return name

    try:
        for _ in range(9):
            await hold()
        assert Counter(name for name, _ in held) == {"pod-0": 3, "pod-1": 3, "pod-2": 3}
        # pod-2's connections end: the next three must all go to it, where round-robin
        # would spread them one to each backend.
        for _, writer in [h for h in held if h[0] == "pod-2"]:
            writer.close()
            await writer.wait_closed()
        await eventually(lambda: not backends[2].open, what="pod-2's connections closed")
        assert [await hold() for _ in range(3)] == ["pod-2", "pod-2", "pod-2"]
    finally:
        for _, writer in held:
            writer.close()


async def test_an_external_ip_is_served_at_the_service_port_while_it_has_endpoints(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    port = node_port()  # any free-looking port: the external IP listens at the service port
    made = service("web", port=port)
    made.spec.external_ips.append("127.0.0.31")
    await api.create(made)
    await set_endpoints(api, "web", backends[:1])
    proxier = await proxies.start(NODE)
    await eventually(lambda: serving("127.0.0.31", port, {"pod-0"}), what="the external IP")

    await set_endpoints(api, "web", [])
    await eventually(lambda: not proxier.listeners, what="the listener closed")
    with pytest.raises(ConnectionRefusedError):
        await ask("127.0.0.31", port)


async def test_an_external_ip_this_host_lacks_is_reported_once_not_every_sync(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    # A documentation address: never on this host, so binding fails (and nothing is sent).
    made = service("web", port=node_port())
    made.spec.external_ips.append("192.0.2.60")
    await api.create(made)
    await set_endpoints(api, "web", backends[:1])
    with capture_logs() as logged:
        proxier = await proxies.start(NODE)
        await eventually(lambda: proxier.syncs > 0, what="the first sync")
        for _ in range(3):
            await proxier.sync()
    failed = [e for e in logged if e["event"] == "cannot listen"]
    assert [e["key"] for e in failed] == [f"tcp/192.0.2.60:{made.spec.ports[0].port}"], failed
