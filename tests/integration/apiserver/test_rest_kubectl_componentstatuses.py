"""The real kubectl with ComponentStatuses (`kubectl get cs`) against an in-process API
server on the real test etcd: etcd-0 Healthy from its /health; a scheduler registered
the way the masters register, answering /healthz, Healthy; a controller manager whose
registered port answers nothing Unhealthy in Kubernetes' words; nothing registered
Unhealthy, saying so; kubectl prints the deprecation warning, and `tug get cs` the same
table; writes and watches are refused as kube-apiserver refuses them, and nothing reaches
etcd. The prober's other answers (an error status, a slow endpoint) against loopback
servers of the test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from client import errors
from client.api import ApiClient
from client.kinds import COMPONENT_STATUSES
from client.statusserver import StatusServer
from client.timeouts import cancel_and_wait
from master.apiserver.componentstatus import FAILURE, SUCCESS, probe_http
from master.apiserver.etcd import prefix_end
from master.apiserver.objects import collection_prefix
from master.apiserver.server import ApiServer
from master.registration import Registration
from proto import core_pb2
from tests.integration.apiserver.kubectl import KUBECTL, Kubectl
from tests.integration.cli.tugrun import run_tug
from tests.support.ports import free_port
from tests.support.waiting import eventually

WARNING = "Warning: v1 ComponentStatus is deprecated in v1.19+"
NOT_ALLOWED = (
    "Error from server (MethodNotAllowed): the server does not allow this method on the "
    "requested resource"
)

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")


def rows(table: str) -> dict[str, list[str]]:
    """kubectl's table by NAME: each row's other cells, split at runs of 3+ spaces."""
    header, *lines = table.splitlines()
    assert header.split() == ["NAME", "STATUS", "MESSAGE", "ERROR"]
    found = {}
    for line in lines:
        name, _, rest = line.partition(" ")
        found[name] = [c.strip() for c in rest.strip().split("   ") if c.strip()]
    return found


@pytest.fixture
async def healthz() -> AsyncIterator[StatusServer]:
    """A status port as the masters run it: /healthz answers "ok"."""
    server = StatusServer("127.0.0.1", 0, registry=CollectorRegistry())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def register(api: ApiClient) -> AsyncIterator[Callable[[str, str, str], Awaitable[None]]]:
    """Register (component, identity, host:port) as master/registration.py does, until the
    test ends."""
    running: list[asyncio.Task[None]] = []

    async def start(component: str, identity: str, address: str) -> None:
        registration = Registration(api, component=component, identity=identity, address=address)
        running.append(asyncio.create_task(registration.run()))
        await eventually(lambda: _registered(api, registration.name), what="the registration")

    try:
        yield start
    finally:
        await cancel_and_wait(running, 5.0)


async def _registered(api: ApiClient, name: str) -> bool:
    try:
        await api.get("leases", "kube-system", name)
    except errors.NotFound:
        return False
    return True


async def _condition(apiserver: ApiServer, name: str) -> core_pb2.ComponentCondition:
    return (await apiserver.service.component_statuses.get(name)).conditions[0]


@needs_kubectl
async def test_etcd_is_healthy_and_components_nobody_registered_are_not(kubectl: Kubectl) -> None:
    ran = await kubectl("get", "componentstatuses")
    assert ran.code == 0, ran.err
    assert WARNING in ran.err
    found = rows(ran.out)
    assert list(found) == ["controller-manager", "scheduler", "etcd-0"]
    assert found["etcd-0"][0] == "Healthy"
    assert json.loads(found["etcd-0"][1])["health"] == "true"
    assert found["scheduler"] == [
        "Unhealthy",
        "no tug-scheduler is registered (a Lease labelled tugboat.io/component=tug-scheduler"
        " in kube-system)",
    ]
    assert found["controller-manager"][0] == "Unhealthy"


@needs_kubectl
async def test_a_registered_component_that_answers_is_healthy_and_one_that_does_not_is_not(
    kubectl: Kubectl,
    apiserver: ApiServer,
    healthz: StatusServer,
    register: Callable[[str, str, str], Awaitable[None]],
) -> None:
    closed = free_port()
    await register("tug-scheduler", "master-1", f"127.0.0.1:{healthz.port}")
    await register("tug-controller-manager", "master-1", f"127.0.0.1:{closed}")

    async def scheduler_seen() -> bool:
        # The registrations are read from the watch cache: wait for it to have them.
        return (await _condition(apiserver, "scheduler")).status == "True"

    await eventually(scheduler_seen, what="the scheduler's registration in the cache")

    ran = await kubectl("get", "cs")
    assert ran.code == 0, ran.err
    assert WARNING in ran.err
    found = rows(ran.out)
    assert found["scheduler"] == ["Healthy", "ok"]
    assert found["controller-manager"] == [
        "Unhealthy",
        f'Get "http://127.0.0.1:{closed}/healthz": dial tcp 127.0.0.1:{closed}: connect: '
        "connection refused",
    ]
    assert found["etcd-0"][0] == "Healthy"

    one = json.loads(await kubectl.ok("get", "cs", "scheduler", "-o", "json"))
    assert one["kind"] == "ComponentStatus"
    assert one["metadata"]["name"] == "scheduler"
    assert one["conditions"] == [{"type": "Healthy", "status": "True", "message": "ok"}]
    down = json.loads(await kubectl.ok("get", "cs", "controller-manager", "-o", "json"))
    assert down["conditions"][0]["status"] == "False"

    # A second scheduler that answers nothing leaves the component Healthy: any one may act.
    await register("tug-scheduler", "master-2", f"127.0.0.1:{closed}")
    assert (await _condition(apiserver, "scheduler")).status == "True"


@needs_kubectl
async def test_discovery_names_the_short_name_and_only_get_and_list(kubectl: Kubectl) -> None:
    found = await kubectl.ok("api-resources", "--api-group=", "-o", "wide")
    line = next(x for x in found.splitlines() if x.startswith("componentstatuses "))
    assert line.split() == ["componentstatuses", "cs", "v1", "false", "ComponentStatus", "get,list"]
    missing = await kubectl("get", "cs", "nope")
    assert missing.code != 0
    assert (
        "Error from server (InternalError): Internal error occurred: Component not found: nope"
        in missing.err
    ), missing.err


@needs_kubectl
async def test_writes_and_watches_are_refused_and_nothing_is_stored(
    kubectl: Kubectl, api: ApiClient, apiserver: ApiServer
) -> None:
    deleted = await kubectl("delete", "cs", "scheduler")
    assert deleted.code != 0
    assert NOT_ALLOWED in deleted.err, deleted.err
    manifest = "apiVersion: v1\nkind: ComponentStatus\nmetadata: {name: mine}\nconditions: []\n"
    created = await kubectl("create", "-f", "-", stdin=manifest)
    assert created.code != 0
    assert (
        'Error from server (MethodNotAllowed): error when creating "STDIN": the server does not '
        "allow this method on the requested resource" in created.err
    ), created.err
    watched = await kubectl("get", "cs", "--watch-only", timeout=30)
    assert watched.code != 0
    assert (
        "Error from server (MethodNotAllowed): watch is not supported on resources of kind "
        '"componentstatuses"' in watched.err
    ), watched.err

    # gRPC refuses them alike, and lists what REST lists.
    mine = core_pb2.ComponentStatus(api_version="v1", kind="ComponentStatus")
    mine.metadata.name = "mine"
    with pytest.raises(errors.ApiError) as refused:
        await api.create(mine)
    assert "does not allow this method" in refused.value.message
    listed = await api.list("componentstatuses")
    assert [s.metadata.name for s in listed.items] == ["controller-manager", "scheduler", "etcd-0"]

    prefix = collection_prefix(COMPONENT_STATUSES)
    stored = await apiserver.etcd.range(prefix, prefix_end(prefix), count_only=True)
    assert stored.count == 0


@pytest.fixture
async def answering() -> AsyncIterator[Callable[[web.RouteDef], Awaitable[str]]]:
    """A loopback server of the test's own routes; its base URL."""
    runners: list[web.AppRunner] = []

    async def start(route: web.RouteDef) -> str:
        app = web.Application()
        app.add_routes([route])
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_an_error_status_and_a_slow_answer_are_failures_in_kubernetes_words(
    answering: Callable[[web.RouteDef], Awaitable[str]],
) -> None:
    async def broken(_request: web.Request) -> web.Response:
        return web.Response(status=500, text="internal")

    released = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        # Answers only after the probe has given up on it.
        await released.wait()
        return web.Response(text="late")

    broken_at = await answering(web.get("/healthz", broken))
    slow_at = await answering(web.get("/healthz", slow))
    try:
        async with aiohttp.ClientSession() as session:
            failed = await probe_http(session, f"{broken_at}/healthz")
            late = await probe_http(session, f"{slow_at}/healthz", timeout=0.3)
    finally:
        released.set()
    assert (failed.result, failed.message) == (FAILURE, "HTTP probe failed with statuscode: 500")
    assert (late.result, late.message) == (
        FAILURE,
        f'Get "{slow_at}/healthz": context deadline exceeded (Client.Timeout exceeded while '
        "awaiting headers)",
    )


async def test_an_answer_is_the_message_without_its_newline(
    answering: Callable[[web.RouteDef], Awaitable[str]],
) -> None:
    async def fine(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    at = await answering(web.get("/healthz", fine))
    async with aiohttp.ClientSession() as session:
        found = await probe_http(session, f"{at}/healthz")
    assert (found.result, found.message, found.error) == (SUCCESS, "ok", "")


async def test_tug_get_cs_prints_kubectls_table_over_grpc(
    apiserver: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUG_HOME", str(tmp_path / "tug-home"))
    monkeypatch.setenv("TUGCONFIG", str(tmp_path / "tug-home" / "config"))
    ran = await run_tug("get", "cs", "--server", apiserver.endpoint)
    assert ran.code == 0, ran.err
    found = rows(ran.out)
    assert list(found) == ["controller-manager", "scheduler", "etcd-0"]
    assert found["etcd-0"][0] == "Healthy"
    assert found["scheduler"][0] == "Unhealthy"
