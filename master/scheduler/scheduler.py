"""The scheduler loop: pop a pending pod, decide, assume, bind in the background.

Informer handlers (`on_pod`, `on_node`, ...) only update the cache and the queue; the
loop (`run`) is the one place decisions are made. Each cycle reads as named phases:

    pop → schedule (filter, score, select) → assume → bind (async) → confirm | forget
                 └─ no node fits → preempt? → mark Unschedulable + Event → requeue

Writes go through a `Writer` (the API in production, a recording one in tests and the
in-memory benchmark), so this module has no I/O of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import structlog
from prometheus_client import Counter, Histogram

from master.scheduler.algorithm import Algorithm, FitError
from master.scheduler.cache import TERMINAL_PHASES, Cache
from master.scheduler.framework import Code, PodInfo, pod_key
from master.scheduler.preemption import preempt
from master.scheduler.queue import SchedulingQueue
from proto import core_pb2, workloads_pb2

log = structlog.get_logger("tug-scheduler")

DEFAULT_SCHEDULER_NAME = "default-scheduler"
MAX_BINDS_IN_FLIGHT = 32

SCHEDULE_ATTEMPTS = Counter(
    "tugboat_scheduler_schedule_attempts_total",
    "Scheduling attempts by result: scheduled, unschedulable, error.",
    ["result"],
)
_SCHEDULED = SCHEDULE_ATTEMPTS.labels(result="scheduled")
_UNSCHEDULABLE = SCHEDULE_ATTEMPTS.labels(result="unschedulable")
_ERROR = SCHEDULE_ATTEMPTS.labels(result="error")
SCHEDULING_DURATION = Histogram(
    "tugboat_scheduler_scheduling_duration_seconds",
    "Time to decide one pod (filter, score, select), bind excluded.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
E2E_SCHEDULING_DURATION = Histogram(
    "tugboat_scheduler_e2e_scheduling_duration_seconds",
    "From a pod entering the queue to its bind succeeding, retries included.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


class Writer(Protocol):
    """Every change the scheduler makes to the cluster."""

    async def bind(self, pod: core_pb2.Pod, node: str) -> None:
        """Set spec.nodeName, guarded by the pod's resourceVersion; raise on failure."""

    async def mark_unschedulable(self, pod: core_pb2.Pod, message: str) -> None:
        """Condition PodScheduled=False, reason Unschedulable, plus a FailedScheduling Event."""

    async def preempt(self, pod: core_pb2.Pod, node: str, victims: list[core_pb2.Pod]) -> None:
        """Delete the victims gracefully, record Events, set the pod's nominatedNodeName."""


def responsible_for(pod: core_pb2.Pod) -> bool:
    """Pending, unbound, not going away, not held by a scheduling gate, and asking for this
    scheduler (or none)."""
    return (
        not pod.spec.node_name
        and not pod.spec.scheduling_gates
        and pod.spec.scheduler_name in ("", DEFAULT_SCHEDULER_NAME)
        and not pod.metadata.deletion_timestamp
        and pod.status.phase not in TERMINAL_PHASES
    )


def _status_only_change(old: core_pb2.Pod, new: core_pb2.Pod) -> bool:
    """Spec and labels unchanged: the pod's own fitness cannot have changed."""
    return old.spec == new.spec and dict(old.metadata.labels) == dict(new.metadata.labels)


def _node_changed_for_scheduling(old: core_pb2.Node | None, new: core_pb2.Node) -> bool:
    """Heartbeats do not matter; labels, taints, cordon and allocatable do."""
    if old is None:
        return True
    return (
        old.spec != new.spec
        or dict(old.metadata.labels) != dict(new.metadata.labels)
        or dict(old.status.allocatable) != dict(new.status.allocatable)
    )


class Scheduler:
    """Owns the cache, the queue and the decision loop of one scheduler process."""

    def __init__(
        self,
        writer: Writer,
        *,
        algorithm: Algorithm | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_binds_in_flight: int = MAX_BINDS_IN_FLIGHT,
    ) -> None:
        self.writer = writer
        self.algorithm = algorithm or Algorithm()
        self.clock = clock
        self.cache = Cache()
        self.queue = SchedulingQueue(clock=clock)
        self.pending: dict[str, core_pb2.Pod] = {}
        self.priority_classes: dict[str, workloads_pb2.PriorityClass] = {}
        self._binds: set[asyncio.Task[None]] = set()
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._bind_slots = asyncio.Semaphore(max_binds_in_flight)
        self._nominated: dict[str, str] = {}
        """Pods we preempted for, and the node: no second preemption while victims go."""

    # ---- informer handlers: they only update the cache and the queue ----
    def on_pod(self, pod: core_pb2.Pod) -> None:
        """A pod was added or changed."""
        key = pod_key(pod)
        if pod.spec.node_name:
            # A counted pod that just finished frees its room for pending ones.
            frees_room = pod.status.phase in TERMINAL_PHASES and self.cache.node_of(key) is not None
            self.pending.pop(key, None)
            self._nominated.pop(key, None)
            self.queue.delete(key)
            self.cache.set_pod(pod, self.resolve_priority(pod))
            if frees_room:
                self.queue.move_all_to_active_or_backoff()
            return
        if self.cache.is_assumed(key):
            # Our bind is in flight; the informer has not seen it yet.
            return
        if responsible_for(pod):
            old = self.pending.get(key)
            self.pending[key] = pod
            if old is not None and key in self.queue and _status_only_change(old, pod):
                # E.g. our own PodScheduled=False write: nothing that could make it fit.
                return
            self.queue.add(key, self.resolve_priority(pod))
        else:
            self.pending.pop(key, None)
            self.queue.delete(key)

    def on_pod_deleted(self, pod: core_pb2.Pod) -> None:
        """A pod is gone: free its room and give unschedulable pods another try."""
        key = pod_key(pod)
        bound = self.cache.node_of(key) is not None
        self.pending.pop(key, None)
        self._nominated.pop(key, None)
        self.queue.delete(key)
        self.cache.remove_pod(key)
        if bound:
            self.queue.move_all_to_active_or_backoff()

    def on_node(self, node: core_pb2.Node) -> None:
        """A node was added or changed."""
        old = self.cache.node(node.metadata.name)
        changed = _node_changed_for_scheduling(old.node if old else None, node)
        self.cache.set_node(node)
        if changed:
            self.queue.move_all_to_active_or_backoff()

    def on_node_deleted(self, node: core_pb2.Node) -> None:
        """A node is gone."""
        self.cache.remove_node(node.metadata.name)

    def on_priority_class(self, pc: workloads_pb2.PriorityClass) -> None:
        """Remember a PriorityClass for resolving priorityClassName."""
        self.priority_classes[pc.metadata.name] = pc

    def on_priority_class_deleted(self, pc: workloads_pb2.PriorityClass) -> None:
        """Forget a PriorityClass."""
        self.priority_classes.pop(pc.metadata.name, None)

    def on_namespace(self, ns: core_pb2.Namespace) -> None:
        """Namespace labels, for affinity terms with a namespaceSelector."""
        self.cache.namespace_labels[ns.metadata.name] = dict(ns.metadata.labels)

    def on_namespace_deleted(self, ns: core_pb2.Namespace) -> None:
        """Forget a namespace's labels."""
        self.cache.namespace_labels.pop(ns.metadata.name, None)

    def on_volume_object(self, obj: object) -> None:
        """A claim, volume or StorageClass was added or changed: pods waiting for one
        (a claim that did not exist, a volume that was not there) may fit now."""
        self.cache.volumes.set(obj)
        self.queue.move_all_to_active_or_backoff()

    def on_volume_object_deleted(self, obj: object) -> None:
        """A claim, volume or StorageClass is gone."""
        self.cache.volumes.remove(obj)

    def resolve_priority(self, pod: core_pb2.Pod) -> int:
        """spec.priority if set, else its PriorityClass's value, else the global default, else 0."""
        if pod.spec.HasField("priority"):
            return pod.spec.priority
        name = pod.spec.priority_class_name
        if name:
            pc = self.priority_classes.get(name)
            return pc.value if pc is not None else 0
        for pc in self.priority_classes.values():
            if pc.global_default:
                return pc.value
        return 0

    # ---- the loop ----
    async def run(self, *, max_cycles: int | None = None) -> None:
        """Schedule until cancelled (or for `max_cycles` attempts).

        A normal end waits for binds in flight; cancellation abandons them.
        """
        cycles = 0
        try:
            while max_cycles is None or cycles < max_cycles:
                if await self.schedule_one():
                    cycles += 1
        except asyncio.CancelledError:
            # Leadership is over: writes in flight are abandoned, not awaited.
            pending = self._binds | self._side_tasks
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            raise
        await self.drain()

    async def drain(self) -> None:
        """Wait for binds and side writes in flight."""
        pending = self._binds | self._side_tasks
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def schedule_one(self, *, max_wait: float = 1.0) -> bool:
        """One cycle for the next ready pod; False when none was ready within max_wait."""
        qp = await self.queue.pop(max_wait=max_wait)
        if qp is None:
            return False
        pod = self.pending.get(qp.key)
        if pod is None or not responsible_for(pod):
            self.queue.done(qp.key)
            return True
        info = PodInfo.of(pod, self.resolve_priority(pod))
        started = time.perf_counter()
        snapshot = self.cache.snapshot()
        try:
            result = self.algorithm.schedule(info, snapshot)
        except FitError as fit:
            SCHEDULING_DURATION.observe(time.perf_counter() - started)
            _UNSCHEDULABLE.inc()
            self._handle_unschedulable(pod, info, fit)
            return True
        except Exception:
            _ERROR.inc()
            log.exception("scheduling failed", pod=qp.key)
            self.queue.requeue(qp.key, unschedulable=False)
            return True
        SCHEDULING_DURATION.observe(time.perf_counter() - started)
        self.cache.assume(info, result.node)
        self.queue.done(qp.key)
        self.pending.pop(qp.key, None)
        await self._bind_slots.acquire()
        task = asyncio.create_task(self._bind(pod, info, result.node, qp.first_seen))
        self._binds.add(task)
        task.add_done_callback(self._binds.discard)
        return True

    async def _bind(self, pod: core_pb2.Pod, info: PodInfo, node: str, first_seen: float) -> None:
        key = info.key
        try:
            await self.writer.bind(pod, node)
        except asyncio.CancelledError:
            self.cache.forget(key)
            raise
        except Exception as e:
            _ERROR.inc()
            log.warning("bind failed, un-assuming", pod=key, node=node, error=str(e))
            self.cache.forget(key)
            if self.cache.node_of(key) is None:
                self.pending[key] = pod
                self.queue.add_after_error(key, info.priority)
        else:
            _SCHEDULED.inc()
            E2E_SCHEDULING_DURATION.observe(self.clock() - first_seen)
            log.info("bound", pod=key, node=node)
        finally:
            self._bind_slots.release()

    def _handle_unschedulable(self, pod: core_pb2.Pod, info: PodInfo, fit: FitError) -> None:
        key = info.key
        # Every pod may preempt pods of lower priority (negative priorities exist), so
        # preemption is tried for each, and what it found ends the message either way.
        outcome = preempt(
            self.algorithm,
            info,
            self.cache.snapshot(),
            fit.statuses,
            terminating_victims=self._waiting_for_victims(info, fit),
        )
        fit.post_filter_message = outcome.message
        message = fit.message
        candidate = outcome.candidate
        self.queue.requeue(key, unschedulable=True)
        if candidate is not None:
            victims = [v.pod for v in candidate.victims]
            log.info(
                "preempting",
                pod=key,
                node=candidate.node,
                victims=[pod_key(v) for v in victims],
            )
            self._nominated[key] = candidate.node
            self._spawn(self.writer.preempt(pod, candidate.node, victims), key)
        log.info("unschedulable", pod=key, reason=message)
        self._spawn(self.writer.mark_unschedulable(pod, message), key)

    def _waiting_for_victims(self, info: PodInfo, fit: FitError) -> bool:
        """Preempted before, the nominated node could still take the pod, and
        lower-priority pods there are still terminating."""
        node_name = self._nominated.get(info.key) or info.pod.status.nominated_node_name
        node = self.cache.node(node_name) if node_name else None
        if node is None:
            return False
        there = fit.statuses.get(node_name)
        if there is not None and there.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            # Waiting there is pointless (a taint, a label changed): preempt afresh.
            return False
        return any(
            p.pod.metadata.deletion_timestamp and p.priority < info.priority
            for p in node.pods.values()
        )

    def _spawn(self, coro: Coroutine[Any, Any, None], key: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception as e:
                log.warning("write failed", pod=key, error=str(e))

        task = asyncio.create_task(guarded())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
