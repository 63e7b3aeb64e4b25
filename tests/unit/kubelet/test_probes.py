"""Probe checks against real loopback servers, and the workers' threshold semantics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from prometheus_client import REGISTRY

from kubelet.probes import checks
from kubelet.probes.workers import LIVENESS, READINESS, ProbeManager, ProbeSettings, ProbeWorker
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerInfo, PodRef
from proto import core_pb2, meta_pb2


class StatusServer:
    """Answers every GET with `self.code`."""

    def __init__(self) -> None:
        self.code = 200
        self.server: asyncio.Server | None = None
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(f"HTTP/1.1 {self.code} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()


@pytest.fixture
async def http_server() -> AsyncIterator[StatusServer]:
    s = StatusServer()
    s.server = await asyncio.start_server(s.handle, "127.0.0.1", 0)
    s.port = s.server.sockets[0].getsockname()[1]
    try:
        yield s
    finally:
        s.server.close()
        await s.server.wait_closed()


def http_action(port: int | str, path: str = "/healthz") -> core_pb2.HTTPGetAction:
    a = core_pb2.HTTPGetAction(path=path)
    if isinstance(port, int):
        a.port.CopyFrom(meta_pb2.IntOrString(int_val=port))
    else:
        a.port.CopyFrom(meta_pb2.IntOrString(str_val=port))
    return a


async def test_http_success_and_failure_read_like_kubernetes(http_server):
    spec = core_pb2.Container(name="c")
    ok = await checks.http_get(http_action(http_server.port), spec, "127.0.0.1", 1)
    assert ok.success
    http_server.code = 500
    bad = await checks.http_get(http_action(http_server.port), spec, "127.0.0.1", 1)
    assert bad == checks.Outcome(False, "HTTP probe failed with statuscode: 500")


async def test_a_named_port_resolves_through_the_containers_ports(http_server):
    spec = core_pb2.Container(name="c")
    spec.ports.add(name="http", container_port=http_server.port)
    assert (await checks.http_get(http_action("http"), spec, "127.0.0.1", 1)).success
    missing = await checks.http_get(http_action("nope"), spec, "127.0.0.1", 1)
    assert not missing.success and "no port named 'nope'" in missing.message


async def test_a_closed_port_fails_tcp_and_http_with_connection_refused(http_server):
    port = http_server.port
    http_server.server.close()
    await http_server.server.wait_closed()
    spec = core_pb2.Container(name="c")
    tcp = core_pb2.TCPSocketAction()
    tcp.port.CopyFrom(meta_pb2.IntOrString(int_val=port))
    refused = await checks.tcp_socket(tcp, spec, "127.0.0.1", 1)
    assert refused.message == f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    http = await checks.http_get(http_action(port), spec, "127.0.0.1", 1)
    assert "connection refused" in http.message


async def test_grpc_health_reports_serving_and_not_serving():
    server = grpc.aio.server()
    servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        action = core_pb2.GRPCAction(port=port)
        assert (await checks.grpc_health(action, "127.0.0.1", 2)).success
        await servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        down = await checks.grpc_health(action, "127.0.0.1", 2)
        assert down.message == 'service unhealthy (responded with "NOT_SERVING")'
    finally:
        await server.stop(0)


def test_probe_defaults_are_kubernetes_defaults():
    s = ProbeSettings.of(core_pb2.Probe())
    assert s == ProbeSettings(0, 10, 1, 1, 3)


def make_worker(kind: str, port: int, **timing):
    changes: list[str] = []
    failures: list[str] = []
    manager = ProbeManager(
        FakeRuntime("n"), changes.append, lambda uid, k, c, msg: failures.append(msg)
    )
    probe = core_pb2.Probe(**timing)
    probe.http_get.CopyFrom(http_action(port))
    spec = core_pb2.Container(name="c")
    info = ContainerInfo("cid", PodRef("u", "p", "ns"), "c", "app", 0, "i", "i", "running")
    return ProbeWorker(manager, kind, probe, "u", "127.0.0.1", spec, info), changes, failures


async def test_liveness_fails_only_after_failure_threshold_in_a_row(http_server):
    worker, changes, failures = make_worker(LIVENESS, http_server.port, failure_threshold=3)
    assert worker.result is True
    http_server.code = 500
    await worker.probe_once()
    await worker.probe_once()
    http_server.code = 200
    await worker.probe_once()  # a success resets the run
    http_server.code = 500
    for _ in range(2):
        await worker.probe_once()
    assert worker.result is True and changes == []
    await worker.probe_once()
    assert worker.result is False and changes == ["u"]
    assert len(failures) == 5


async def test_readiness_starts_false_and_needs_success_threshold(http_server):
    worker, changes, _ = make_worker(READINESS, http_server.port, success_threshold=2)
    assert worker.result is False
    await worker.probe_once()
    assert worker.result is False
    await worker.probe_once()
    assert worker.result is True and changes == ["u"]


async def test_a_startup_probe_gates_liveness_and_readiness_until_it_succeeds(http_server):
    from kubelet.probes.workers import STARTUP

    startup, _, _ = make_worker(STARTUP, http_server.port)
    manager = startup.manager
    cid = startup.container.id
    manager._workers[(cid, STARTUP)] = startup
    live, _, _ = make_worker(LIVENESS, http_server.port)
    assert not manager.started(cid) and not manager.ready(cid)
    assert not manager.may_probe(live)
    await startup.probe_once()
    assert manager.started(cid) and manager.ready(cid)
    assert manager.may_probe(live)


async def test_every_probe_run_counts_in_prober_probe_total_by_type_and_result(http_server):
    worker, _, _ = make_worker(READINESS, http_server.port)
    labels = {"probe_type": "Readiness", "container": "c", "pod": "p", "namespace": "ns"}

    def count(result: str) -> float:
        return REGISTRY.get_sample_value("prober_probe_total", {**labels, "result": result}) or 0

    ok, failed = count("successful"), count("failed")
    await worker.probe_once()
    http_server.code = 500
    await worker.probe_once()
    assert (count("successful") - ok, count("failed") - failed) == (1, 1)
