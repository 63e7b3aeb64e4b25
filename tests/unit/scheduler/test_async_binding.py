"""Binds run in the background, several at once but never more than the bound.

The loop decides the next pod while earlier binds are still on the wire (the pod is
assumed in the cache first, so its room is taken); once `max_binds_in_flight` binds
are pending, the loop waits for one to end. A bind that fails un-assumes its pod and
puts it back in the queue, while the binds around it go through.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from master.scheduler.framework import pod_key
from master.scheduler.scheduler import Scheduler
from proto import core_pb2
from tests.unit.scheduler.builders import node, pod
from tests.unit.scheduler.recording import RecordingWriter


@dataclass
class GatedWriter(RecordingWriter):
    """Each bind waits until the test opens its gate, then succeeds or (if asked) fails."""

    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    in_flight: int = 0
    most_in_flight: int = 0

    def gate(self, key: str) -> asyncio.Event:
        return self.gates.setdefault(key, asyncio.Event())

    async def bind(self, pod: core_pb2.Pod, node: str) -> None:
        key = pod_key(pod)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.gate(key).wait()
            await super().bind(pod, node)
        finally:
            self.in_flight -= 1


async def until(condition: object, *, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.001)


async def test_binds_overlap_up_to_the_bound_and_a_failed_one_requeues_its_pod():
    w = GatedWriter(fail_binds={"default/a"})
    clock = [0.0]
    s = Scheduler(w, clock=lambda: clock[0], max_binds_in_flight=2)
    s.on_node(node("n1", cpu="2"))
    s.on_node(node("n2", cpu="2"))
    for name in ("a", "b", "c"):
        s.on_pod(pod(name, cpu="1"))

    # Two pods are decided and assumed without waiting for their binds.
    assert await s.schedule_one(max_wait=0)
    assert await s.schedule_one(max_wait=0)
    await until(lambda: w.in_flight == 2)
    assert s.cache.is_assumed("default/a") and s.cache.is_assumed("default/b")

    # The third is decided too, but its bind waits for a free slot.
    third = asyncio.create_task(s.schedule_one(max_wait=0))
    await until(lambda: s.cache.is_assumed("default/c"))
    assert not third.done() and w.in_flight == 2

    # a's bind fails: a is un-assumed and back in the queue; c's bind starts.
    w.gate("default/a").set()
    await third
    await until(lambda: w.in_flight == 2 and not s.cache.is_assumed("default/a"))
    assert s.cache.node_of("default/a") is None
    assert "default/a" in s.queue
    assert w.binds == []

    w.gate("default/b").set()
    w.gate("default/c").set()
    await until(lambda: w.in_flight == 0)
    assert sorted(k for k, _ in w.binds) == ["default/b", "default/c"]

    # After its back-off, a is scheduled again and bound.
    clock[0] += 60
    assert await s.schedule_one(max_wait=0)
    await s.drain()
    assert sorted(k for k, _ in w.binds) == ["default/a", "default/b", "default/c"]
    assert w.most_in_flight == 2
