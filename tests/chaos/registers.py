"""The register workload the linearizability tests and the soak share: random recorded
operations by one client, a watcher writing down what it hears, the closing write that
bounds what watchers owe, and the verdict."""

from __future__ import annotations

import asyncio
import random

from client.api import ApiClient, ClientOptions, WatchEvent
from client.timeouts import within
from proto import core_pb2
from tests.chaos.history import History, RegisterClient
from tests.chaos.linearizability import check
from tests.chaos.watchcheck import Event, Stream, check_reference, check_stream
from tests.support.waiting import eventually

RECORDING = ClientOptions(timeout=2.0, max_retries=1, retry_deadline=2.0)
"""One attempt per call (see history.py), and a short deadline, so that a stopped
server's calls end as UNKNOWN instead of holding the client."""


async def random_operations(
    registers: RegisterClient,
    stop: asyncio.Event,
    *,
    limit: int,
    pause: float,
) -> None:
    """Up to `limit` random operations on random keys until `stop`, `pause` apart at
    most. Updates compare-and-set from this client's last read of the key; values are
    unique (process and sequence number)."""
    rng = random.Random(registers.process)
    last_read: dict[str, tuple[str, str]] = {}
    for n in range(limit):
        if stop.is_set():
            return
        key, value = rng.choice(registers.keys), f"p{registers.process}-{n}"
        roll = rng.random()
        if roll < 0.3:
            await registers.create(key, value)
        elif roll < 0.8 and key in last_read:
            expect, version = last_read.pop(key)
            await registers.update(key, expect, version, value)
        elif roll < 0.8:
            read = await registers.read(key)
            if read is not None:
                last_read[key] = read
        elif roll < 0.9:
            await registers.delete(key)
        else:
            await registers.list()
        await asyncio.sleep(rng.uniform(0.0, pause))


def event_of(event: WatchEvent) -> Event:
    assert isinstance(event.object, core_pb2.ConfigMap)
    cm = event.object
    return Event(int(event.resource_version), event.type, cm.metadata.name, cm.data.get("v", ""))


async def follow(
    api: ApiClient, namespace: str, start: str, heard: list[Event], until: int = 0
) -> None:
    """Every change after `start` into `heard`, through the client's own fail-over; ends
    after revision `until` when given, else when cancelled."""
    async for event in api.watch("configmaps", namespace, resource_version=start):
        heard.append(event_of(event))
        if until and heard[-1].revision >= until:
            return


async def close(
    api: ApiClient, history: History, namespace: str, streams: list[Stream], timeout: float
) -> int:
    """A last recorded write, once every server is back, marks the end of what watchers
    owe; its revision, once every stream has heard it."""
    closing = RegisterClient(api, history, len(history.ops), namespace, [])
    await closing.create("the-end", "the-end")
    end = history.ops[-1].version
    assert end, f"the closing write failed: {history.ops[-1].describe()}"

    async def caught_up() -> bool:
        return all(s.events and s.events[-1].revision >= end for s in streams)

    await eventually(caught_up, timeout=timeout, interval=0.2, what="every watcher caught up")
    return end


async def judge(
    api: ApiClient, history: History, namespace: str, streams: list[Stream], end: int
) -> tuple[list[Event], list[str]]:
    """The committed changes (one calm watch from the streams' start up to `end`), and
    every problem: non-linearizable keys, then where the changes disagree with the
    history or a stream with the changes."""
    reference: list[Event] = []
    start = str(min(s.start for s in streams))
    await within(follow(api, namespace, start, reference, until=end), 60)
    problems = [str(v) for v in check(history.ops)]
    problems += check_reference(reference, history.ops)
    for stream in streams:
        problems += check_stream(stream, reference)
    return reference, problems


async def stop_watching(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the watchers' tasks and wait until each has ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
