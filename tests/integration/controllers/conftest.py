"""Fixtures for controller tests: a real etcd and API server, the controllers in-process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from google.protobuf.message import Message

from client import codec, kinds
from client.api import ApiClient, ClientOptions
from client.kinds import Object
from master.controllers import ControllerSettings, run_controllers
from master.statemetrics.collector import StateMetrics
from tests.integration.controllers.nodes import Heartbeats
from tests.integration.controllers.simulator import PodSimulator
from tests.support.waiting import eventually


@pytest.fixture
async def api(apiserver: Any) -> AsyncIterator[ApiClient]:
    """A client of the test API server."""
    client = ApiClient([apiserver.endpoint])
    try:
        yield client
    finally:
        await client.close()


class ControllerManager:
    """Runs `run_controllers` in a task; `stop()` cancels it (also done at teardown)."""

    def __init__(self, endpoint: str, options: ClientOptions | None = None) -> None:
        self.endpoint = endpoint
        self.options = options
        """How its client reaches the API server (TLS as a user); None: plaintext."""
        self._task: asyncio.Task[None] | None = None
        self._client: ApiClient | None = None

    async def start(self, state: StateMetrics | None = None, **settings: Any) -> None:
        self._client = ApiClient([self.endpoint], self.options)
        self._task = asyncio.create_task(
            run_controllers(self._client, settings=ControllerSettings(**settings), state=state)
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    def check(self) -> None:
        """Fail if the controllers crashed."""
        if self._task is not None and self._task.done():
            self._task.result()


@pytest.fixture
async def manager(apiserver: Any) -> AsyncIterator[ControllerManager]:
    """The controllers, not yet started (`await manager.start(**settings)`)."""
    m = ControllerManager(apiserver.endpoint)
    try:
        yield m
    finally:
        await m.stop()


@pytest.fixture
async def simulator(api: ApiClient) -> AsyncIterator[Any]:
    """A factory of started PodSimulators (stopped at teardown)."""
    started: list[PodSimulator] = []
    beats = Heartbeats(api)

    async def make(nodes: list[str], *, heartbeat: bool = True, **kw: Any) -> PodSimulator:
        """Nodes that exist and heartbeat (unless the test keeps its own heartbeats)."""
        if heartbeat:
            for name in nodes:
                await beats.add(name)
            beats.start()
        sim = PodSimulator(api, nodes, **kw)
        await sim.start()
        started.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in started:
            await sim.stop()
        await beats.stop()


def manifest(data: dict[str, Any]) -> Object:
    """An object from a Kubernetes-shaped dict."""
    kind = kinds.by_kind(data["apiVersion"], data["kind"])
    obj: Any = codec.from_dict(kind.message, data)
    return obj  # type: ignore[no-any-return]


def pod_template(labels: dict[str, str], image: str = "busybox:1.35") -> dict[str, Any]:
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "main", "image": image, "command": ["sleep", "3600"]}]},
    }


M = TypeVar("M", bound=Message)


async def wait_for(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str,
) -> None:
    """`eventually` for checks that answer True or False."""
    ok: bool = await eventually(check, timeout=timeout, interval=interval, what=what)
    assert ok


async def fetch(api: ApiClient, cls: type[M], name: str, namespace: str = "default") -> M:
    """Get one object of message class `cls`."""
    kind = kinds.of(cls())
    obj = await api.get(kind.resource, namespace if kind.namespaced else "", name)
    assert isinstance(obj, cls)
    return obj


async def fetch_all(api: ApiClient, cls: type[M], namespace: str = "default") -> list[M]:
    """List every object of message class `cls`."""
    kind = kinds.of(cls())
    items = (await api.list(kind.resource, namespace if kind.namespaced else "")).items
    return [o for o in items if isinstance(o, cls)]


from tests.integration.controllers.processes import components  # noqa: E402,F401
