"""Node lifecycle: notice dead nodes, taint them, and evict the pods that do not tolerate it.

Health: a node is alive while its Lease (kube-node-lease/<node>) or its Ready
condition's heartbeat keeps changing. Changes are timed on this process's own clock when
they are observed, as Kubernetes does, so clock skew between machines does not matter;
every node gets a full grace period from the moment this controller starts (a new
leader does not declare the world dead). After `node_monitor_grace_period` of silence
the node's conditions turn Unknown and its pods are marked not ready.

Taints follow the Ready condition: False gives `node.kubernetes.io/not-ready:NoExecute`,
Unknown gives `node.kubernetes.io/unreachable:NoExecute`, True removes both. The same
keys with NoSchedule (and `node.kubernetes.io/unschedulable:NoSchedule` for a cordoned
node) are set at once, so no new pod lands there meanwhile. Adding a NoExecute
taint is rate-limited per zone (label topology.kubernetes.io/zone): `node_eviction_rate`
nodes per second normally, `secondary_node_eviction_rate` when at least
`unhealthy_zone_threshold` of a zone (and more than two nodes) is not ready, since that
looks like a partitioned master rather than dead nodes; and none at all when every node
of every zone is down (Kubernetes' "master disruption mode").

Eviction: a pod on a node with NoExecute taints is deleted at once if it does not
tolerate one of them, else after the shortest tolerationSeconds of the tolerations it
used, counted from when the taint was first seen on its node.

A deleted pod stays Terminating until its kubelet confirms its containers stopped, or
until its node is deleted, or is not Ready with the `node.kubernetes.io/out-of-service`
taint an operator puts on a machine known to be down. docs/fencing.md gives the rule and
why silence alone is not enough.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog

from client import kinds
from client.errors import ApiError, Conflict, NotFound
from client.events import NORMAL
from client.informer import NODE_INDEX, copy_object
from master.controllers import controller_utils as cu
from master.controllers import taints as tt
from master.controllers.base import EVENTS_CLOSE_SECONDS, Context, Controller
from master.controllers.deleting import delete_exact
from master.controllers.metrics import NODE_EVICTIONS, NODE_TAINTS
from master.controllers.ratelimit import TokenBucket
from proto import core_pb2

log = structlog.get_logger("controllers.nodelifecycle")

LEASE_NAMESPACE = "kube-node-lease"
ZONE_LABEL = "topology.kubernetes.io/zone"
NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
_CONDITION_KEYS = (tt.NOT_READY, tt.UNREACHABLE)


@dataclass
class _Health:
    probed: float
    """When (monotonic) this controller last saw the node alive."""
    lease_version: str = ""
    heartbeat: str = ""


def zone_of(node: core_pb2.Node) -> str:
    """The node's zone label ("" when none)."""
    return node.metadata.labels.get(ZONE_LABEL, "")


def ready_status(node: core_pb2.Node) -> str:
    """ "True", "False", "Unknown", or "" when the node never reported."""
    cond = cu.get_condition(node.status.conditions, "Ready")
    return cond.status if cond is not None else ""


def zone_state(ready: int, not_ready: int, threshold: float) -> str:
    """Normal, PartialDisruption or FullDisruption (Kubernetes' ComputeZoneState)."""
    if ready == 0 and not_ready > 0:
        return "FullDisruption"
    if not_ready > 2 and not_ready / (ready + not_ready) >= threshold:
        return "PartialDisruption"
    return "Normal"


class NodeLifecycleController(Controller):
    """Node health, NoExecute taints and taint-based eviction (queue keys: pods)."""

    name = "nodelifecycle"
    component = "node-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.nodes = ctx.informers.get("nodes")
        self.leases = ctx.informers.get("leases")
        self.pods = ctx.informers.get("pods")
        self.evictions = ctx.recorder("taint-eviction-controller")
        self._health: dict[str, _Health] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._first_tainted: dict[str, float] = {}
        """pod key -> when (monotonic) its eviction clock started."""
        self._orphans: dict[str, float] = {}
        self.nodes.add_handler(on_update=self._node_updated, on_add=self._node_added)
        self.pods.add_handler(on_add=self._pod_changed, on_update=lambda o, n: self._pod_changed(n))

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            await self.evictions.close(EVENTS_CLOSE_SECONDS)

    # -- handlers: pods to look at for eviction ----------------------------------------

    def _node_added(self, node: core_pb2.Node) -> None:
        if any(t.effect == tt.NO_EXECUTE for t in node.spec.taints):
            self._enqueue_pods_of(node.metadata.name)

    def _node_updated(self, old: core_pb2.Node, new: core_pb2.Node) -> None:
        def no_execute(n: core_pb2.Node) -> list[tuple[str, str, str]]:
            return sorted(
                (t.key, t.value, t.effect) for t in n.spec.taints if t.effect == tt.NO_EXECUTE
            )

        if no_execute(old) != no_execute(new):
            self._enqueue_pods_of(new.metadata.name)

    def _enqueue_pods_of(self, node: str) -> None:
        for pod in self.pods.by_index(NODE_INDEX, node, copy=False):
            self.queue.add(kinds.key(pod))

    def _pod_changed(self, pod: core_pb2.Pod) -> None:
        if pod.spec.node_name:
            node = self.nodes.get(pod.spec.node_name, copy=False)
            if node is not None and any(t.effect == tt.NO_EXECUTE for t in node.spec.taints):
                self.queue.add(kinds.key(pod))

    # -- eviction (the queue) ----------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Evict pod `key` now, later (re-queued), or never, by its node's NoExecute taints."""
        pod = self.pods.get(key)
        if pod is None or not pod.spec.node_name or pod.metadata.deletion_timestamp:
            self._first_tainted.pop(key, None)
            return
        node = self.nodes.get(pod.spec.node_name, copy=False)
        delay = None if node is None else tt.eviction_delay(node.spec.taints, pod.spec.tolerations)
        if delay is None:
            self._first_tainted.pop(key, None)
            return
        started = self._first_tainted.setdefault(key, time.monotonic())
        left = started + delay - time.monotonic()
        if left > 0:
            self.queue.add_after(key, left)
            return
        await self._evict(pod)

    async def _evict(self, pod: core_pb2.Pod) -> None:
        key = kinds.key(pod)
        evicted = await delete_exact(self.client, "pods", pod, or_replaced=True)
        self._first_tainted.pop(key, None)
        if not evicted:
            return
        NODE_EVICTIONS.inc()
        log.info("evicted pod", pod=key, node=pod.spec.node_name)
        await self.evictions.record(
            pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {key}"
        )

    # -- monitoring (background) -------------------------------------------------------

    async def background(self) -> None:
        """Check every node's health each node_monitor_period, until cancelled."""
        period = self.settings.node_monitor_period
        # Runs for the controller's lifetime; each turn is bounded by the node count.
        while True:
            try:
                await self.monitor()
            except ApiError as e:
                log.warning("node monitoring failed", error=f"{type(e).__name__}: {e}")
            await asyncio.sleep(period)

    async def monitor(self) -> None:
        """One round: health, then taints, then pods left on deleted nodes."""
        nodes = self.nodes.list()
        seen = {n.metadata.name for n in nodes}
        for name in list(self._health):
            if name not in seen:
                del self._health[name]
        for i, node in enumerate(nodes):
            nodes[i] = await self._check_health(node)
        await self._taint(nodes)
        await self._collect_orphans(seen)
        await self._release_out_of_service(nodes)

    async def _check_health(self, node: core_pb2.Node) -> core_pb2.Node:
        name = node.metadata.name
        now = time.monotonic()
        health = self._health.get(name)
        if health is None:
            health = self._health[name] = _Health(probed=now)
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}", copy=False)
        if lease is not None and lease.metadata.resource_version != health.lease_version:
            health.lease_version = lease.metadata.resource_version
            health.probed = now
        ready = cu.get_condition(node.status.conditions, "Ready")
        beat = ready.last_heartbeat_time if ready is not None else ""
        if beat != health.heartbeat:
            health.heartbeat = beat
            health.probed = now
        grace = (
            self.settings.node_monitor_grace_period
            if ready is not None
            else self.settings.node_startup_grace_period
        )
        if now - health.probed <= grace or ready_status(node) == "Unknown":
            return node
        return await self._mark_unknown(node, never=ready is None)

    async def _mark_unknown(self, node: core_pb2.Node, *, never: bool) -> core_pb2.Node:
        name = node.metadata.name
        fresh = copy_object(node)
        stamp = cu.rfc3339()
        reason = "NodeStatusNeverUpdated" if never else "NodeStatusUnknown"
        message = (
            "Kubelet never posted node status." if never else "Kubelet stopped posting node status."
        )
        present = {c.type for c in fresh.status.conditions}
        for c in fresh.status.conditions:
            if c.type in NODE_CONDITIONS:
                c.status, c.reason, c.message = "Unknown", reason, message
                c.last_transition_time = stamp
        if "Ready" not in present:
            cond = cu.new_condition("Ready", "Unknown", reason, message)
            fresh.status.conditions.append(cond)
        try:
            updated: core_pb2.Node = await self.client.update_status(fresh)
        except (Conflict, NotFound):
            return node  # changed meanwhile (perhaps the kubelet is back): next round
        log.warning(
            "node stopped reporting", node=name, grace=self.settings.node_monitor_grace_period
        )
        await self.events.record(
            updated, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady"
        )
        await self._mark_pods_not_ready(name)
        return updated

    async def _mark_pods_not_ready(self, node: str) -> None:
        for pod in self.pods.by_index(NODE_INDEX, node):
            cond = cu.pod_condition(pod, "Ready")
            if cond is None or cond.status != "True":
                continue
            cond.status = "False"
            cond.last_transition_time = cu.rfc3339()
            try:
                await self.client.update_status(pod)
            except (Conflict, NotFound):
                continue

    async def _taint(self, nodes: list[core_pb2.Node]) -> None:
        zones: dict[str, list[core_pb2.Node]] = {}
        for node in nodes:
            zones.setdefault(zone_of(node), []).append(node)
        states = {}
        for zone, members in zones.items():
            ready = sum(1 for n in members if ready_status(n) == "True")
            states[zone] = zone_state(
                ready, len(members) - ready, self.settings.unhealthy_zone_threshold
            )
        all_down = bool(states) and all(s == "FullDisruption" for s in states.values())
        for zone, members in zones.items():
            bucket = self._bucket(zone, states[zone])
            for node in members:
                await self._taint_node(node, bucket, hold=all_down)

    def _bucket(self, zone: str, state: str) -> TokenBucket:
        rate = (
            self.settings.secondary_node_eviction_rate
            if state == "PartialDisruption"
            else self.settings.node_eviction_rate
        )
        bucket = self._buckets.get(zone)
        if bucket is None:
            bucket = self._buckets[zone] = TokenBucket(rate)
        elif bucket.rate != rate:
            log.info("zone eviction rate changed", zone=zone, state=state, rate=rate)
            bucket.set_rate(rate)
        return bucket

    async def _taint_node(self, node: core_pb2.Node, bucket: TokenBucket, *, hold: bool) -> None:
        status = ready_status(node)
        condition_key = {"False": tt.NOT_READY, "Unknown": tt.UNREACHABLE}.get(status)
        # NoSchedule taints keep new pods off at once (Kubernetes' taint-by-condition).
        no_schedule = {condition_key} if condition_key else set()
        if node.spec.unschedulable:
            no_schedule.add(tt.UNSCHEDULABLE)
        have_no_execute = {
            t.key
            for t in node.spec.taints
            if t.key in _CONDITION_KEYS and t.effect == tt.NO_EXECUTE
        }
        no_execute = set(have_no_execute)
        if condition_key is None:
            no_execute = set()
        elif have_no_execute and have_no_execute != {condition_key}:
            no_execute = {condition_key}  # swapping one for the other is not rate-limited
        elif not have_no_execute and not hold and bucket.try_take():
            no_execute = {condition_key}
        await self._set_taints(node, no_execute, no_schedule)

    async def _set_taints(
        self, node: core_pb2.Node, no_execute: set[str], no_schedule: set[str]
    ) -> None:
        ours = {(k, tt.NO_EXECUTE) for k in _CONDITION_KEYS} | {
            (k, tt.NO_SCHEDULE) for k in (*_CONDITION_KEYS, tt.UNSCHEDULABLE)
        }
        wanted = {(k, tt.NO_EXECUTE) for k in no_execute} | {
            (k, tt.NO_SCHEDULE) for k in no_schedule
        }
        have = {(t.key, t.effect) for t in node.spec.taints if (t.key, t.effect) in ours}
        if have == wanted:
            return
        keep = [
            core_pb2.Taint(key=t.key, value=t.value, effect=t.effect, time_added=t.time_added)
            for t in node.spec.taints
            if (t.key, t.effect) not in ours or (t.key, t.effect) in wanted
        ]
        stamp = cu.rfc3339()
        for key, effect in sorted(wanted - have):
            keep.append(core_pb2.Taint(key=key, effect=effect, time_added=stamp))
        fresh = copy_object(node)
        del fresh.spec.taints[:]
        fresh.spec.taints.extend(keep)
        try:
            await self.client.update(fresh)
        except (Conflict, NotFound):
            return  # next round
        for key, effect in sorted(wanted - have):
            if effect == tt.NO_EXECUTE:
                NODE_TAINTS.labels(key).inc()
            log.warning("node tainted", node=node.metadata.name, taint=f"{key}:{effect}")
        for key, effect in sorted(have - wanted):
            log.info("node taint removed", node=node.metadata.name, taint=f"{key}:{effect}")

    async def _force_delete(self, pod: core_pb2.Pod) -> bool:
        """Delete `pod` at once (grace 0), only the very pod seen; whether it was."""
        return await delete_exact(
            self.client, "pods", pod, grace_period_seconds=0, or_replaced=True
        )

    async def _release_out_of_service(self, nodes: list[core_pb2.Node]) -> None:
        """Force-delete the terminating pods of a node that is not Ready and carries the
        out-of-service taint: an operator's word that its machine is down (Kubernetes'
        non-graceful node shutdown). Nothing else may tell a node whose kubelet froze
        while its containers run from a dead one (docs/fencing.md)."""
        for node in nodes:
            if ready_status(node) == "True" or not tt.has_taint(
                node, tt.OUT_OF_SERVICE, tt.NO_EXECUTE
            ):
                continue
            for pod in self.pods.by_index(NODE_INDEX, node.metadata.name, copy=False):
                if pod.metadata.deletion_timestamp and await self._force_delete(pod):
                    log.info(
                        "deleted a terminating pod of an out-of-service node",
                        pod=kinds.key(pod),
                        node=node.metadata.name,
                    )

    async def _collect_orphans(self, nodes: set[str]) -> None:
        """Force-delete pods bound to a node that no longer exists (Kubernetes' pod GC)."""
        now = time.monotonic()
        quarantine = self.settings.node_monitor_grace_period
        seen: set[str] = set()
        for pod in self.pods.list(copy=False):
            node = pod.spec.node_name
            if not node or node in nodes:
                continue
            key = kinds.key(pod)
            seen.add(key)
            first = self._orphans.setdefault(key, now)
            if now - first < quarantine:
                continue
            try:
                await self.client.get("nodes", "", node)
                continue  # the cache is behind: the node exists
            except NotFound:
                pass
            if await self._force_delete(pod):
                log.info("deleted pod of a deleted node", pod=key, node=node)
        for key in list(self._orphans):
            if key not in seen:
                del self._orphans[key]
