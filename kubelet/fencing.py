"""Self-fencing: a kubelet that has lost the API server stops its pods before others replace them.

Kubernetes has no such thing (a partitioned node keeps running pods that were already
replaced elsewhere); Nomad calls it stop_after_client_disconnect. The node lifecycle
controller declares a node dead after its Lease went unrenewed for the node-monitor grace
period, and evicts its pods `tolerationSeconds` later. A kubelet that has not renewed its
own Lease for `fence_after` seconds (by default that same grace period) knows the
controller may be about to replace its pods, so it stops their containers itself.

Time is measured on the monotonic clock from the *start* of the last successful renewal,
which is never later than when the controller saw it, so the kubelet always fences first.
A kubelet that was SIGSTOPped sees the whole pause as one jump of that clock: the first
check after SIGCONT fences at once. The check is synchronous and pod workers call it
before every container start, so no start slips in before the fence, whatever task the
event loop happens to resume first.

Reconnecting: a kubelet that was out of touch for `disconnected_after` seconds (and
always one that fenced) starts nothing until it has re-listed the pods bound to it,
killed every container of a pod that is no longer bound to it (or no longer exists), and
restarted its pod watch from that fresh list, so a stale watch stream cannot revive a
pod that was deleted meanwhile. Containers of pods still bound to it are then restarted
by their workers under the pods' restartPolicy.

That list is "not older than" the kubelet's last Lease renewal, which came after the
gap: it holds every deletion and rebinding committed before the kubelet was back, which
is what a fresh list must show, and the watch from it brings every later one. The API
server answers it from its watch cache. A consistent list, on etcd too old to serve it
from the cache, decoded every pod of the cluster from etcd for each reconnecting node:
when an overloaded API server let thousands of nodes' renewals lapse at once, their
lists became the overload.

The fencing task sleeps until the next moment the clock could change anything (the
disconnection or the fence deadline, from the last renewal), not on a fixed tick: a
renewal only moves the deadline on, so a healthy node wakes about once a lease period
rather than every second, which is what let thousands of simulated nodes share one
process. A renewal never needs to wake it; a disconnection or a pause is seen at its
deadline, and by every container start in between (`may_start` checks the clock).

Not guaranteed: a kubelet that is frozen (SIGSTOP) or whose machine hangs cannot stop
anything until it runs again; containers stopped by the fence are not restarted on a
node that never reconnects.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from client.errors import ApiError
from client.timeouts import wait_event
from client.verbs import VersionedLister
from kubelet import metrics
from kubelet.runtime.interface import ContainerInfo, ContainerRuntime, RuntimeFailure
from proto import core_pb2

log = structlog.get_logger("kubelet.fencing")

Clock = Callable[[], float]

DEADLINE_SLACK = 0.01
"""Seconds the fencing task sleeps past a deadline, so that it wakes to a gap beyond it."""


@dataclass(frozen=True)
class FenceSettings:
    """The two timings of self-fencing (0 turns either off)."""

    fence_after: float = 8.0
    """Seconds without a lease renewal before the kubelet stops its pods' containers
    (--node-fence-grace-period; the controller's node-monitor grace period by default)."""
    reconnect_kill_after: float = 4.0
    """Seconds without a lease renewal after which the kubelet counts as disconnected: on
    reconnecting it re-lists its pods and kills the containers of pods no longer bound to
    it before it starts anything (--reconnect-kill-after)."""
    stop_grace: float = 1.0
    """Seconds between SIGTERM and SIGKILL when the fence or a reconnect kill stops a
    container: a replacement may be starting elsewhere, so this is short."""
    tick: float = 0.0
    """Seconds before the fencing task retries a step that failed; 0: a tenth of the
    shorter timing, within 0.1-1 s."""

    @property
    def period(self) -> float:
        """The fencing task's retry interval."""
        return self.tick or min(1.0, max(0.1, self.disconnected_after / 10))

    @property
    def disconnected_after(self) -> float:
        """The gap after which a reconnect must reconcile (0: never)."""
        on = [s for s in (self.fence_after, self.reconnect_kill_after) if s > 0]
        return min(on) if on else 0.0


class Link(enum.Enum):
    """The kubelet's standing with the API server, as its lease renewals tell it."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    """A renewal succeeded again; the re-list and reconnect kill are still to do."""


class Fence:
    """The fencing decision: pure state and a clock, no I/O (the clock is injectable)."""

    def __init__(
        self, settings: FenceSettings, node: str = "", clock: Clock = time.monotonic
    ) -> None:
        self.settings = settings
        self.node = node
        self.clock = clock
        self.last_renewal = clock()
        """When the last successful renewal started; a new kubelet gets a full grace."""
        self.link = Link.CONNECTED
        self.fenced = False
        """Whether this disconnection has reached the fence (containers must be stopped)."""
        self.fencings = 0
        self.wake = asyncio.Event()
        """Set when the fencing task has something to do."""
        self.log = log.bind(node=node)

    def reset(self) -> None:
        """Start afresh with a full grace (the kubelet is starting)."""
        self.last_renewal = self.clock()
        self.link = Link.CONNECTED
        self.fenced = False

    def gap(self) -> float:
        """Seconds since the last successful renewal started."""
        return self.clock() - self.last_renewal

    def check(self) -> Link:
        """Notice an expired grace (a SIGCONT shows up here as one clock jump); the link."""
        s = self.settings
        gap = self.gap()
        limit = s.disconnected_after
        if limit > 0 and gap > limit and self.link is not Link.DISCONNECTED:
            self.log.warning("lost touch with the API server", seconds_since_renewal=round(gap, 1))
            self.link = Link.DISCONNECTED
            self.wake.set()
        if s.fence_after > 0 and gap > s.fence_after and not self.fenced:
            self.log.warning(
                "lease not renewed within the fence grace period: stopping this node's pods",
                seconds_since_renewal=round(gap, 1),
                grace=s.fence_after,
            )
            self.fenced = True
            self.fencings += 1
            metrics.FENCINGS.inc()
            self.wake.set()
        return self.link

    def next_check(self) -> float | None:
        """Seconds until the clock can next disconnect or fence (None: not before a renewal
        or reconcile changes the state, which wakes the task)."""
        s = self.settings
        due = []
        if s.disconnected_after > 0 and self.link is not Link.DISCONNECTED:
            due.append(s.disconnected_after)
        if s.fence_after > 0 and not self.fenced:
            due.append(s.fence_after)
        if not due:
            return None
        # Just past the deadline: check() counts a gap of exactly the limit as in time.
        return max(0.0, min(due) - self.gap()) + DEADLINE_SLACK

    def may_start(self) -> bool:
        """Whether containers may be started now (checks the clock first)."""
        return self.check() is Link.CONNECTED

    def renewed(self, started: float) -> None:
        """A lease renewal that started at `started` (on this clock) succeeded."""
        self.check()  # a pause noticed only now must fence before it counts as reconnected
        limit = self.settings.disconnected_after
        if limit > 0 and self.clock() - started > limit:
            return  # an answer to a request sent before the gap proves nothing about now
        self.last_renewal = max(self.last_renewal, started)
        if self.link is Link.DISCONNECTED:
            self.log.info("lease renewed again: reconciling before starting anything")
            self.link = Link.RECONNECTING
            self.wake.set()

    def reconciled(self) -> None:
        """The re-list and reconnect kill are done: back to normal unless lost again."""
        if self.check() is Link.RECONNECTING:
            self.link = Link.CONNECTED
            self.fenced = False
            self.log.info("reconnected")


Reconnected = Callable[[list[core_pb2.Pod], str], Awaitable[None]]
"""Called with the pods bound to the node, and the resourceVersion they were listed at,
once the reconnect kill is done."""


def unbound(containers: Sequence[ContainerInfo], bound: set[str]) -> list[ContainerInfo]:
    """The running containers whose pod uid is not among the pods bound to the node."""
    return [c for c in containers if c.running and c.pod.uid not in bound]


def workload(containers: Sequence[ContainerInfo]) -> list[ContainerInfo]:
    """The running app and init containers (the sandbox only holds the network)."""
    return [c for c in containers if c.running and c.kind != "sandbox"]


class SelfFencing:
    """The task that acts on the Fence: stops containers, then reconciles on reconnect."""

    def __init__(
        self,
        fence: Fence,
        runtime: ContainerRuntime,
        api: VersionedLister,
        on_reconnected: Reconnected,
        lease_version: Callable[[], str] = str,
    ) -> None:
        self.fence = fence
        self.runtime = runtime
        self.api = api
        self.on_reconnected = on_reconnected
        self.lease_version = lease_version
        """The resourceVersion of the node Lease as last renewed ("": unknown)."""
        self.node = runtime.node
        self.log = log.bind(node=self.node)
        self._stopped_for = 0
        """The fencing (by count) whose containers have been stopped."""

    async def run(self) -> None:
        """Check the clock at each deadline or wake-up and act, until cancelled."""
        fence = self.fence
        while True:
            fence.wake.clear()
            fence.check()
            pending = False
            try:
                if fence.fenced and self._stopped_for != fence.fencings:
                    await self.stop_workload()
                    self._stopped_for = fence.fencings
                if fence.link is Link.RECONNECTING:
                    await self.reconcile()
            except (ApiError, RuntimeFailure, OSError) as e:
                self.log.warning("fencing step failed, retrying", error=str(e))
                pending = True
            due = fence.next_check()
            if pending:
                due = min(due, fence.settings.period) if due is not None else fence.settings.period
            if due is None:
                await fence.wake.wait()
            else:
                await wait_event(fence.wake, due)

    async def stop_workload(self) -> None:
        """Stop every running app and init container of this node, all at once."""
        running = workload(await self.runtime.list_containers())
        for c in running:
            self.log.warning(
                "fence: stopping container",
                pod=f"{c.pod.namespace}/{c.pod.name}",
                container=c.name,
            )
        await self._stop(running)
        self.log.warning("fenced: this node's pods are stopped", containers=len(running))

    async def reconcile(self) -> None:
        """Re-list the pods bound here, kill the rest, then let the kubelet resume."""
        selector = f"spec.nodeName={self.node}"
        # Read only now: the renewal that reconnected, or one after it.
        version = self.lease_version()
        listed = await self.api.list(
            "pods",
            "",
            field_selector=selector,
            resource_version=version,
            resource_version_match="NotOlderThan" if version else "",
        )
        items = getattr(listed, "items", [])
        pods = [p for p in items if isinstance(p, core_pb2.Pod) and p.spec.node_name == self.node]
        bound = {p.metadata.uid for p in pods}
        doomed = unbound(await self.runtime.list_containers(), bound)
        for c in doomed:
            self.log.warning(
                "reconnect: killing a container of a pod no longer bound here",
                pod=f"{c.pod.namespace}/{c.pod.name}",
                pod_uid=c.pod.uid,
                container=c.name,
            )
        await self._stop(doomed)
        metrics.RECONNECT_KILLS.inc(len(doomed))
        await self.on_reconnected(pods, listed.resource_version)
        self.fence.reconciled()

    async def _stop(self, containers: Sequence[ContainerInfo]) -> None:
        grace = self.fence.settings.stop_grace
        results = await asyncio.gather(
            *(self.runtime.stop_container(c.id, grace) for c in containers),
            return_exceptions=True,
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise RuntimeFailure(f"{len(failed)} container(s) did not stop: {failed[0]}")
