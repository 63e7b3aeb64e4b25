"""A Writer that records what the scheduler would write, for in-memory tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field

from master.scheduler.framework import pod_key
from proto import core_pb2


@dataclass
class RecordingWriter:
    """Binds succeed (unless the key is in `fail_binds`) and are recorded in order."""

    binds: list[tuple[str, str]] = field(default_factory=list)
    unschedulable: dict[str, str] = field(default_factory=dict)
    preemptions: list[tuple[str, str, list[str]]] = field(default_factory=list)
    fail_binds: set[str] = field(default_factory=set)

    async def bind(self, pod: core_pb2.Pod, node: str) -> None:
        key = pod_key(pod)
        if key in self.fail_binds:
            self.fail_binds.discard(key)
            raise RuntimeError(f"bind of {key} refused")
        self.binds.append((key, node))

    async def mark_unschedulable(self, pod: core_pb2.Pod, message: str) -> None:
        self.unschedulable[pod_key(pod)] = message

    async def preempt(self, pod: core_pb2.Pod, node: str, victims: list[core_pb2.Pod]) -> None:
        self.preemptions.append((pod_key(pod), node, [pod_key(v) for v in victims]))
