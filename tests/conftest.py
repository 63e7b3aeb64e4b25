"""Fixtures shared by every test folder: a real etcd, wiped between tests that ask."""

from __future__ import annotations

import asyncio
import inspect
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aetcd
import pytest

from master.apiserver.server import ApiServer
from tests.support import pod_bridge
from tests.support.apiserver import ApiServerProcess, running_apiserver
from tests.support.etcd import EtcdCluster, start_etcd
from tests.support.leaks import assert_no_leaked_tasks


def pytest_report_header() -> str:
    """Which kubectl the HTTP API's tests ran with (the machine's, or Debian's package)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return "kubectl: none (its tests are skipped; make setup installs one)"
    done = subprocess.run(
        [kubectl, "version", "--client"], capture_output=True, text=True, timeout=30, check=False
    )
    return f"kubectl: {kubectl}: {done.stdout.splitlines()[0] if done.stdout else done.stderr}"


_SUITE_SECONDS: dict[str, float] = {}
"""Seconds spent per suite (tests/<suite>/), setup and teardown included."""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    parts = report.nodeid.split("/")
    suite = parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0]
    _SUITE_SECONDS[suite] = _SUITE_SECONDS.get(suite, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How long each suite took, so CI's budget can be watched suite by suite."""
    if not _SUITE_SECONDS:
        return
    terminalreporter.section("time per suite")
    for suite, seconds in sorted(_SUITE_SECONDS.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{suite:<14}{seconds / 60:7.1f} min")
    terminalreporter.write_line(f"{'all':<14}{sum(_SUITE_SECONDS.values()) / 60:7.1f} min")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every coroutine test gets `no_leaked_tasks`, first, so that its check runs last."""
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and inspect.iscoroutinefunction(function):
            fixtures: list[str] = getattr(item, "fixturenames", [])
            if "no_leaked_tasks" not in fixtures:
                fixtures.insert(0, "no_leaked_tasks")


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running after it and its fixtures are done:
    a leaked task outlives its test, then dies with the loop, hiding whatever it was doing."""
    before = set(asyncio.all_tasks())
    yield
    await assert_no_leaked_tasks(before)


@pytest.fixture(scope="session", autouse=True)
def no_pod_bridge_left_behind() -> Iterator[None]:
    """Remove the kubelets' pod bridge network at the end of the session when the session
    made it and no container is left on it: in-process kubelets on the host's engine create
    it the first time a pod needs it, and nothing else would remove it (every full run
    left an empty `tugboat` network on the engine)."""
    existed = pod_bridge.exists()
    yield
    if not existed:
        pod_bridge.remove_if_empty()


@pytest.fixture(scope="session")
def etcd() -> Iterator[EtcdCluster]:
    """One real etcd member for the whole session; use `etcd_clean` for an empty keyspace."""
    cluster = start_etcd(1)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def etcd_clean(etcd: EtcdCluster) -> AsyncIterator[EtcdCluster]:
    """The session's etcd with every key deleted before the test."""
    host, port = etcd.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as c:
        await c.delete_range(b"\0", b"\0")
    yield etcd


class ApiServerFactory:
    """Starts API servers on the test etcd (in-process or as processes); all stop at the end."""

    def __init__(self, etcd: EtcdCluster) -> None:
        self.etcd = etcd
        self._servers: list[Any] = []
        self._contexts: list[Any] = []
        self._processes: list[ApiServerProcess] = []

    async def start(self, **options: Any) -> ApiServer:
        """An in-process API server (see tests.support.apiserver.running_apiserver)."""
        ctx = running_apiserver(self.etcd.endpoints, **options)
        server = await ctx.__aenter__()
        self._contexts.append(ctx)
        return server

    def start_process(self, **options: Any) -> ApiServerProcess:
        """A `tug-apiserver` process, ready (see ApiServerProcess.start)."""
        proc = ApiServerProcess.start(self.etcd.endpoints, **options)
        self._processes.append(proc)
        return proc

    async def close(self) -> None:
        for proc in self._processes:
            proc.stop()
        for ctx in reversed(self._contexts):
            await ctx.__aexit__(None, None, None)


@pytest.fixture
async def apiserver_factory(etcd_clean: EtcdCluster) -> AsyncIterator[ApiServerFactory]:
    """Start any number of API servers on the (wiped) test etcd; each is stopped afterwards."""
    factory = ApiServerFactory(etcd_clean)
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture
async def apiserver(apiserver_factory: ApiServerFactory) -> ApiServer:
    """One in-process API server on the wiped test etcd: `.endpoint` is "127.0.0.1:PORT"."""
    return await apiserver_factory.start()
