"""Simulated nodes join a batch at a time, each batch once the one before has registered,
as real nodes join as fast as the API server takes them: five thousand nodes started at
once ran out their fence clocks before the API server answered their first renewals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any, cast

from client.timeouts import within
from kubelet import main
from kubelet.kubelet import Kubelet
from kubelet.main import start_paced
from tests.support.waiting import eventually


class Heartbeat:
    def __init__(self) -> None:
        self.registered = asyncio.Event()


class Node:
    """Stands in for a Kubelet: start() makes its heartbeat, which the test registers."""

    def __init__(self) -> None:
        self.heartbeat: Heartbeat | None = None

    async def start(self) -> None:
        self.heartbeat = Heartbeat()


def started(nodes: Sequence[Node]) -> int:
    return sum(n.heartbeat is not None for n in nodes)


def register(nodes: Sequence[Node]) -> None:
    for n in nodes:
        assert n.heartbeat is not None
        n.heartbeat.registered.set()


async def test_the_next_batch_starts_only_once_the_one_before_has_registered() -> None:
    nodes = [Node() for _ in range(45)]
    stop = asyncio.Event()
    task = asyncio.create_task(start_paced(cast(list[Kubelet], nodes), stop))
    try:
        await eventually(lambda: started(nodes) == main.START_BATCH, what="a first batch")
        register(nodes[:20])
        await eventually(lambda: started(nodes) == 2 * main.START_BATCH, what="a second batch")
        register(nodes[20:40])
        await within_task(task)
        assert started(nodes) == 45
    finally:
        await cancelled(task)


async def test_a_batch_that_cannot_register_holds_the_next_one_back_only_so_long(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(main, "REGISTER_PACE_SECONDS", 0.05)
    nodes = [Node() for _ in range(2 * main.START_BATCH)]
    await within_task(asyncio.create_task(start_paced(cast(list[Kubelet], nodes), asyncio.Event())))
    assert started(nodes) == len(nodes)


async def test_stopping_while_a_batch_registers_starts_no_more_nodes() -> None:
    nodes = [Node() for _ in range(2 * main.START_BATCH)]
    stop = asyncio.Event()
    task = asyncio.create_task(start_paced(cast(list[Kubelet], nodes), stop))
    await eventually(lambda: started(nodes) == main.START_BATCH, what="a first batch")
    stop.set()
    await within_task(task)
    assert started(nodes) == main.START_BATCH


async def test_a_single_real_node_is_not_paced() -> None:
    node = Node()
    await within_task(
        asyncio.create_task(start_paced(cast(list[Kubelet], [node]), asyncio.Event()))
    )
    assert started([node]) == 1


async def within_task(task: asyncio.Task[None]) -> None:
    await within(asyncio.shield(task), 5.0)


async def cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
