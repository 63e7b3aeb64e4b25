"""A watch cache's etcd stream is read by a thread at etcd's pace: what etcd sent while
the event loop was busy reaches the cache in a turn or two of the loop, not one turn per
response as gRPC's asyncio client would take them."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import grpc
import pytest
from aetcd import rpc

from client import errors
from client.timeouts import within
from master.apiserver.etcd import Etcd, prefix_end
from master.apiserver.etcdreader import ThreadedWatch
from tests.support.waiting import eventually

PREFIX = b"/threaded-watch/"
WRITES = 200


def _put_all(endpoint: str, count: int) -> None:
    """`count` puts, one revision each, from a blocking client (as another API server)."""
    with grpc.insecure_channel(endpoint) as channel:
        kv = rpc.KVStub(channel)
        for i in range(count):
            kv.Put(rpc.PutRequest(key=PREFIX + b"%04d" % i, value=b"v"), timeout=5)


def _threaded_call(etcd: Etcd) -> ThreadedWatch:
    (call,) = [c for c in etcd._watches if isinstance(c, ThreadedWatch)]
    return call


async def test_responses_etcd_sent_while_the_loop_was_busy_arrive_in_a_turn_or_two(etcd_clean):
    etcd = Etcd([etcd_clean.endpoint])
    stream = etcd.watch(PREFIX, prefix_end(PREFIX), prev_kv=False, threaded=True)
    events: list[Any] = []
    turns = 0
    try:
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        await eventually(lambda: bool(etcd._watches), what="the watch open")
        call = _threaded_call(etcd)
        writer = threading.Thread(target=_put_all, args=(etcd_clean.endpoint, WRITES))
        writer.start()
        _hold_the_loop_until_read(call, WRITES)
        writer.join(timeout=30)
        assert _pending(call) >= WRITES

        stop = asyncio.Event()

        async def count_turns() -> None:
            nonlocal turns
            while not stop.is_set():
                turns += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(count_turns())
        response = await first
        events.extend(response.events)
        while len(events) < WRITES:
            response = await within(anext(stream), 10.0)
            events.extend(response.events)
        stop.set()
        await counter
    finally:
        await stream.aclose()
        await etcd.close()
    assert [e.kv.key for e in events] == [PREFIX + b"%04d" % i for i in range(WRITES)]
    assert turns <= 3, turns


async def test_a_threaded_watch_ends_unavailable_when_the_server_ends_its_watches(etcd_clean):
    etcd = Etcd([etcd_clean.endpoint])
    stream = etcd.watch(PREFIX, prefix_end(PREFIX), prev_kv=False, threaded=True)
    try:
        created = await within(anext(stream), 10.0)
        assert created.created
        etcd.end_watches()
        with pytest.raises(errors.Unavailable, match="shutting down"):
            await within(anext(stream), 10.0)
    finally:
        await stream.aclose()
        await etcd.close()


async def test_a_threaded_watch_of_a_compacted_revision_is_gone(etcd_clean):
    etcd = Etcd([etcd_clean.endpoint])
    await asyncio.to_thread(_put_all, etcd_clean.endpoint, 3)
    revision = await etcd.revision()
    await etcd.compact(revision)
    stream = etcd.watch(
        PREFIX, prefix_end(PREFIX), start_revision=revision - 1, prev_kv=False, threaded=True
    )
    try:
        with pytest.raises(errors.Gone):
            for _ in range(3):  # after the "created" response, if etcd sends one first
                await within(anext(stream), 10.0)
    finally:
        await stream.aclose()
        await etcd.close()


def _hold_the_loop_until_read(call: ThreadedWatch, count: int) -> None:
    """Block the event loop, as a busy API server's is, until the thread has read `count`
    events (bounded by a deadline)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _pending(call) < count:
        time.sleep(0.01)


def _pending(call: ThreadedWatch) -> int:
    """Events the thread has read and the loop not yet taken."""
    return sum(len(r.events) for r in list(call._read))
