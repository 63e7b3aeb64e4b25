"""Fixtures for kubelet tests: real Docker, real etcd, a real API server.

Every test gets its own node name; a finalizer removes every container labelled with it,
so nothing a test starts outlives it, whatever happens.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from client.api import ApiClient
from kubelet import agent
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.pods.context import PodSettings
from kubelet.runtime.docker import DockerRuntime
from kubelet.runtime.interface import LABEL_NODE, ContainerRuntime
from tests.integration.kubelet.loop_watchdog import LoopWatchdog
from tests.support.ports import free_port

FAST_PODS = PodSettings(
    crash_backoff_initial=1.0,
    crash_backoff_max=4.0,
    image_backoff_initial=1.0,
    image_backoff_max=4.0,
    resync_period=2.0,
)
"""Back-offs and resyncs short enough for tests of a few seconds."""


def remove_node_containers(node: str) -> None:
    """Force-remove every container labelled with the node (by label: never others')."""
    client = docker.from_env()
    try:
        for c in client.api.containers(all=True, filters={"label": [f"{LABEL_NODE}={node}"]}):
            try:
                client.api.remove_container(c["Id"], force=True)
            except docker.errors.NotFound:
                pass
    finally:
        client.close()


@pytest.fixture
def node_name() -> Iterator[str]:
    """A node name unique to the test; its containers are removed afterwards."""
    name = f"kt-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        remove_node_containers(name)


@pytest.fixture
async def api(apiserver: Any) -> AsyncIterator[ApiClient]:
    """An API client on the test API server."""
    client = ApiClient([apiserver.endpoint])
    try:
        yield client
    finally:
        await client.close()


class KubeletFactory:
    """Starts in-process kubelets on the test API server; all stop at the end."""

    def __init__(self, api: ApiClient, root: Path) -> None:
        self.api = api
        self.root = root
        self.kubelets: list[Kubelet] = []
        self._servers: dict[int, Any] = {}

    async def start(
        self, node: str, runtime: ContainerRuntime | None = None, **overrides: Any
    ) -> Kubelet:
        config = KubeletConfig(
            node_name=node,
            address="127.0.0.1",
            port=free_port("127.0.0.1"),
            root_dir=self.root / node,
            lease_period=1.0,
            relist_period=0.5,
            pods=overrides.pop("pods", FAST_PODS),
            **overrides,
        )
        kubelet = Kubelet(config, self.api, runtime or DockerRuntime(node))
        self.kubelets.append(kubelet)
        assert kubelet.manager is not None
        self._servers[id(kubelet)] = await agent.serve(
            [kubelet.manager], "127.0.0.1", config.port, [kubelet.stats]
        )
        await kubelet.start()
        return kubelet

    async def stop(self, kubelet: Kubelet) -> None:
        server = self._servers.pop(id(kubelet), None)
        if server is not None:
            await server.stop(0.5)
        await kubelet.stop()
        await kubelet.runtime.close()
        self.kubelets.remove(kubelet)

    async def close(self) -> None:
        for k in list(self.kubelets):
            await self.stop(k)


@pytest.fixture
async def loop_watchdog() -> AsyncIterator[LoopWatchdog]:
    """Fails the test if its event loop was blocked for more than 0.5 s (stack in the report)."""
    watchdog = LoopWatchdog(asyncio.get_running_loop(), threshold=0.5)
    watchdog.start()
    try:
        yield watchdog
    finally:
        watchdog.stop()
    if watchdog.stalls:
        pytest.fail(watchdog.report(), pytrace=False)


@pytest.fixture
async def kubelets(
    api: ApiClient, tmp_path: Path, loop_watchdog: LoopWatchdog, node_name: str
) -> AsyncIterator[KubeletFactory]:
    """Start kubelets with `await kubelets.start(node_name)`.

    It asks for `node_name` only so that the name is set up before it and torn down
    after it: the kubelets stop first, and the node's containers are removed after. The other way
    round, a crash-looping pod's kubelet made its next container after the removal,
    and it stayed on the engine.
    """
    factory = KubeletFactory(api, tmp_path)
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture
async def kubelet(kubelets: KubeletFactory, node_name: str) -> Kubelet:
    """One in-process kubelet on a Docker runtime, with short back-offs."""
    return await kubelets.start(node_name)


class KubeletProcess:
    """A `tug-kubelet` process, stopped or killed only by its PID."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        fd, path = tempfile.mkstemp(prefix="tugboat-kubelet-", suffix=".log")
        os.close(fd)
        self.log_path = Path(path)

    def launch(self) -> None:
        exe = Path(sys.executable).parent / "tug-kubelet"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kubelet.main"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([*cmd, *self.args], stdout=log, stderr=log)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def kubelet_process() -> Iterator[Any]:
    """Make `tug-kubelet` processes with `kubelet_process(args)`; each is stopped afterwards."""
    made: list[KubeletProcess] = []

    def make(args: list[str]) -> KubeletProcess:
        proc = KubeletProcess(args)
        made.append(proc)
        return proc

    try:
        yield make
    finally:
        for proc in made:
            proc.stop()
            proc.log_path.unlink(missing_ok=True)
