"""The scheduler's cache: nodes and the pods on them, bound or assumed.

Why assumed pods: binding is an API round trip, and the informer confirms it later
still. The scheduler must not wait for either before deciding the next pod, or two pods
would be sent to the last free core. So a decision is recorded here at once ("assume"),
the bind runs in the background, and then either the informer's view of the bound pod
replaces the assumed one ("confirm") or a failed bind removes it ("forget").

Why a snapshot that is kept, not taken: a cycle reads every node, so copying the
cluster per pod would cost as much as the decision. The snapshot's node list and its
NodeTable (the same nodes as columns) live here and are brought up to date at the start
of each cycle: only the rows of nodes that changed since (a pod assumed, bound or gone,
a node updated) are rewritten. A node that comes takes a new last row and a node that
goes gives its row to the last one, so a growing cluster does not pay a rebuild of
every row per cycle; only the first snapshot, or one after more nodes came or went than
an eighth of the rows, is built afresh (in name order), which is cheaper then.

Everything here runs on the event loop's thread between awaits, so no locks are needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from master.scheduler.framework import NodeInfo, PodInfo, Snapshot, pod_key
from master.scheduler.nodetable import NodeTable
from master.scheduler.volumes import VolumeObjects
from proto import core_pb2

TERMINAL_PHASES = ("Succeeded", "Failed")


def _placeholder(name: str) -> core_pb2.Node:
    node = core_pb2.Node()
    node.metadata.name = name
    return node


@dataclass
class Cache:
    """Node infos by name, the node each pod is on, and which of those pods are assumed."""

    _nodes: dict[str, NodeInfo] = field(default_factory=dict)
    _present: set[str] = field(default_factory=set)
    """Nodes the informer has shown us (others only hold pods that name them)."""
    _pod_node: dict[str, str] = field(default_factory=dict)
    _assumed: set[str] = field(default_factory=set)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    volumes: VolumeObjects = field(default_factory=VolumeObjects)
    _ordered: list[NodeInfo] = field(default_factory=list)
    """The snapshot's node list: row i of `_table` is `_ordered[i]`."""
    _table: NodeTable | None = None
    """The snapshot's nodes as columns, in the order of `_ordered`."""
    _changed: set[str] = field(default_factory=set)
    """Nodes whose table row is out of date."""
    _membership: set[str] = field(default_factory=set)
    """Nodes that came or went, or got a new NodeInfo, since the last snapshot."""

    # ---- nodes ----
    def set_node(self, node: core_pb2.Node) -> None:
        """Add or update a node."""
        name = node.metadata.name
        info = self._nodes.get(name)
        if info is None:
            self._nodes[name] = NodeInfo.of(node)
            self._membership.add(name)
        else:
            info.set_node(node)
            self._changed.add(name)
        if name not in self._present:
            self._present.add(name)
            self._membership.add(name)

    def remove_node(self, name: str) -> None:
        """Forget a node; its pods stay accounted until they are deleted too."""
        self._present.discard(name)
        self._membership.add(name)
        info = self._nodes.get(name)
        if info is not None and not info.pods:
            del self._nodes[name]

    def node(self, name: str) -> NodeInfo | None:
        """The NodeInfo of a present node."""
        return self._nodes.get(name) if name in self._present else None

    # ---- pods seen by the informer ----
    def set_pod(self, pod: core_pb2.Pod, priority: int | None = None) -> None:
        """Account for a bound pod (confirming an assumed one); unbound pods are ignored.

        `priority` is the resolved PriorityClass value when spec.priority is unset.
        """
        key = pod_key(pod)
        node_name = pod.spec.node_name
        if not node_name or pod.status.phase in TERMINAL_PHASES:
            # A finished pod frees its resources, as in Kubernetes.
            self.remove_pod(key)
            return
        self._assumed.discard(key)
        old = self._pod_node.get(key)
        if old is not None and old != node_name:
            self._detach(key, old)
        info = self._nodes.get(node_name)
        if info is None:
            info = self._nodes[node_name] = NodeInfo.of(_placeholder(node_name))
        info.add_pod(PodInfo.of(pod, priority))
        self._changed.add(node_name)
        self._pod_node[key] = node_name

    def remove_pod(self, key: str) -> None:
        """The pod is gone (or unbound): free what it held."""
        self._assumed.discard(key)
        node_name = self._pod_node.pop(key, None)
        if node_name is not None:
            self._detach(key, node_name)

    def _detach(self, key: str, node_name: str) -> None:
        info = self._nodes.get(node_name)
        if info is None:
            return
        info.remove_pod(key)
        self._changed.add(node_name)
        if not info.pods and node_name not in self._present:
            del self._nodes[node_name]

    # ---- the scheduler's own decisions ----
    def assume(self, pod: PodInfo, node_name: str) -> None:
        """Put the pod on the node now, before the bind is confirmed."""
        info = self._nodes[node_name]
        info.add_pod(pod)
        self._changed.add(node_name)
        self._pod_node[pod.key] = node_name
        self._assumed.add(pod.key)

    def forget(self, key: str) -> None:
        """Undo an assume after a failed bind (a confirmed pod is left alone)."""
        if key in self._assumed:
            self.remove_pod(key)

    def is_assumed(self, key: str) -> bool:
        """True between assume and the informer's confirmation (or forget)."""
        return key in self._assumed

    def node_of(self, key: str) -> str | None:
        """The node a pod is bound or assumed to."""
        return self._pod_node.get(key)

    # ---- reading ----
    def snapshot(self) -> Snapshot:
        """Every present node, in a stable order (the order they came in), for one
        scheduling cycle."""
        table = self._table
        if table is None or len(self._membership) * 8 > len(self._ordered):
            self._ordered = [self._nodes[n] for n in sorted(self._present)]
            table = self._table = NodeTable.of(self._ordered)
        else:
            for name in sorted(self._membership):
                self._update_membership(table, name)
            rows = table.rows
            for name in self._changed:
                row = rows.get(name)
                if row is not None:
                    table.set_row(row, self._ordered[row])
        self._membership.clear()
        self._changed.clear()
        return Snapshot(self._ordered, self.namespace_labels, self.volumes, table)

    def _update_membership(self, table: NodeTable, name: str) -> None:
        """Give a node that came a row, take the row of one that went, and point the
        row of one that went and came back at its current NodeInfo."""
        row = table.rows.get(name)
        if name in self._present:
            info = self._nodes[name]
            if row is None:
                table.append(info)
                self._ordered.append(info)
            else:
                self._ordered[row] = info
                table.set_row(row, info)
        elif row is not None:
            filled = table.remove(name)
            last = self._ordered.pop()
            if filled is not None:
                self._ordered[filled] = last

    def __len__(self) -> int:
        return len(self._present)
