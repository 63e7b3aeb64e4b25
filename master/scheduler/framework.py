"""The scheduling framework: stage interfaces, statuses with named reasons, node snapshots.

Why it is built this way: each concern (resources, taints, affinity, ...) is a small plugin
that implements only the stages it needs, so a rejection always names the plugin's
reason and a new rule is one new file. Plugins read a read-only snapshot of the cluster
(`NodeInfo` per node, assumed pods included) and never talk to the API; the scheduler
loop in `scheduler.py` owns all plumbing.

Stages, in the order the scheduler runs them for one pod:

1. PreFilter (optional): compute per-pod state once for the cycle (e.g. topology counts).
2. Filter: may this pod run on this node? Cheap checks run first.
3. PreScore (optional): compute per-pod state over the feasible nodes.
4. Score: 0..MAX_NODE_SCORE per feasible node, then Normalize (optional), times weight.

A Filter or Score plugin may also offer a batch form (`BatchFilterPlugin`,
`BatchScorePlugin`) over the snapshot's `NodeTable`: the same decision for every node
in a few array operations, which is what keeps a decision's cost flat in node count.

Plugins import this module whole and write `framework.Status`, `framework.NodeInfo`, as
kube-scheduler's plugins write `framework.X`. What many plugins would otherwise each
write again lives here too: `FilterWhen` and `ScoreWhen` (a PreFilter or PreScore that
only says whether the stage applies), `filter_flagged` (a batch Filter that sends only
the flagged rows through the per-node Filter) and `default_normalize`.
"""

from __future__ import annotations

import enum
import functools
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, overload, runtime_checkable

from client.quantity import cpu_millis, memory_bytes
from client.sidecars import is_sidecar
from master.scheduler.nodetable import BoolArray, IntArray, NodeTable
from master.scheduler.volumes import VolumeObjects
from proto import core_pb2

MAX_NODE_SCORE = 100
DEFAULT_MAX_PODS = 110
"""Pods a node takes when its allocatable does not say (the kubelet's default)."""
DEFAULT_MILLI_CPU_REQUEST = 100
"""Scoring counts a container without a cpu request as 100m, as Kubernetes does."""
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
"""Scoring counts a container without a memory request as 200Mi, as Kubernetes does."""
HARD_TAINT_EFFECTS = ("NoSchedule", "NoExecute")
"""Taint effects that keep pods off a node (PreferNoSchedule only scores)."""


class Code(enum.Enum):
    """What a plugin decided, and what the scheduler does next."""

    SUCCESS = "Success"
    """The pod may go on; the next plugin or stage runs."""
    UNSCHEDULABLE = "Unschedulable"
    """Not on this node now; preemption may free room, so the node is a preemption candidate."""
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    """Not on this node, and evicting pods would not help: never a preemption candidate."""
    ERROR = "Error"
    """Something went wrong; the pod is retried with back-off."""
    SKIP = "Skip"
    """From PreFilter or PreScore: nothing to check for this pod, so this plugin's Filter
    (or Score) is not called in this cycle."""


@dataclass(frozen=True)
class Status:
    """A plugin's verdict, with human reasons that reach the pod's Event."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def ok(self) -> bool:
        """True when the code is Success."""
        return self.code is Code.SUCCESS

    @staticmethod
    def unschedulable(plugin: str, *reasons: str) -> Status:
        """Unschedulable here; preemption may help."""
        return Status(Code.UNSCHEDULABLE, reasons, plugin)

    @staticmethod
    def unresolvable(plugin: str, *reasons: str) -> Status:
        """Unschedulable here whatever is evicted."""
        return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)

    @staticmethod
    def skip(plugin: str) -> Status:
        """Nothing for this plugin to do for this pod in this cycle (one shared object per
        plugin: most plugins skip for most pods)."""
        st = _SKIPS.get(plugin)
        if st is None:
            st = _SKIPS[plugin] = Status(Code.SKIP, (), plugin)
        return st

    @staticmethod
    def error(plugin: str, reason: str) -> Status:
        """An internal error; the pod is retried with back-off."""
        return Status(Code.ERROR, (reason,), plugin)


SUCCESS = Status()
"""The one Success status every passing filter returns."""
_SKIPS: dict[str, Status] = {}


@dataclass
class Resources:
    """Amounts of the resources the scheduler accounts for."""

    milli_cpu: int = 0
    memory: int = 0
    pods: int = 0

    def add(self, other: Resources) -> None:
        """Add other's amounts to self."""
        self.milli_cpu += other.milli_cpu
        self.memory += other.memory
        self.pods += other.pods

    def sub(self, other: Resources) -> None:
        """Subtract other's amounts from self."""
        self.milli_cpu -= other.milli_cpu
        self.memory -= other.memory
        self.pods -= other.pods


@dataclass(frozen=True)
class HostPort:
    """One hostPort a pod claims: ip "0.0.0.0" means every address."""

    ip: str
    protocol: str
    port: int

    def conflicts(self, other: HostPort) -> bool:
        """Same protocol and port, on the same address or a wildcard one."""
        if self.port != other.port or self.protocol != other.protocol:
            return False
        return self.ip == other.ip or "0.0.0.0" in (self.ip, other.ip)


def _container_request(c: core_pb2.Container, name: str) -> str:
    """The request, or the limit when only a limit is given (the API default)."""
    return c.resources.requests.get(name) or c.resources.limits.get(name) or ""


# Pods of one workload repeat the same few quantities: parse each spelling once.
_cpu_millis = functools.lru_cache(maxsize=1024)(cpu_millis)
_memory_bytes = functools.lru_cache(maxsize=1024)(memory_bytes)


NOT_SCALAR = frozenset(("cpu", "memory", "ephemeral-storage", "pods"))
"""Resources with their own accounting; every other name (an extended resource such as
`nvidia.com/gpu`, `hugepages-2Mi`) is a countable "scalar" resource."""
NO_SCALARS: Mapping[str, int] = types.MappingProxyType({})
"""The one empty answer shared by every pod and node without scalar resources."""


def _no_scalars() -> Mapping[str, int]:
    return NO_SCALARS


def _scalar_amount(c: core_pb2.Container, name: str) -> int:
    text = _container_request(c, name)
    return _memory_bytes(text) if text else 0


def _beyond_cpu_memory(amounts: Mapping[str, str]) -> bool:
    """Some name other than cpu and memory among the amounts."""
    n = len(amounts)
    return n > 0 and n > ("cpu" in amounts) + ("memory" in amounts)


def _container_requests(c: core_pb2.Container) -> tuple[int, int, int, int, bool]:
    """One container's cpu and memory requests, the same with scoring's defaults for a
    missing one, and whether it asks for more than cpu and memory."""
    requests, limits = c.resources.requests, c.resources.limits
    # The request, or the limit when only a limit is given (the API default).
    text_cpu = requests.get("cpu") or limits.get("cpu") or ""
    text_mem = requests.get("memory") or limits.get("memory") or ""
    c_cpu = _cpu_millis(text_cpu) if text_cpu else 0
    c_mem = _memory_bytes(text_mem) if text_mem else 0
    return (
        c_cpu,
        c_mem,
        c_cpu if text_cpu else DEFAULT_MILLI_CPU_REQUEST,
        c_mem if text_mem else DEFAULT_MEMORY_REQUEST,
        _beyond_cpu_memory(requests) or _beyond_cpu_memory(limits),
    )


def _requests(pod: core_pb2.Pod) -> tuple[Resources, Resources, bool]:
    """The pod's requests, the same with scoring's defaults for missing ones, and whether
    any container asks for more than cpu and memory (then `scalar_requests` has work)."""
    cpu = mem = nz_cpu = nz_mem = 0
    beyond = False
    for c in pod.spec.containers:
        c_cpu, c_mem, nz_c_cpu, nz_c_mem, more = _container_requests(c)
        beyond = beyond or more
        cpu, mem = cpu + c_cpu, mem + c_mem
        nz_cpu, nz_mem = nz_cpu + nz_c_cpu, nz_mem + nz_c_mem
    # Sidecars run beside everything after them: they add to the app containers' sum and
    # to each later init container's own need; the pod needs the largest of those.
    # Scoring's defaults stand in for an init container's missing requests too, as in
    # Kubernetes, so a request-less sidecar still weighs on a node's score.
    side_cpu = side_mem = init_cpu = init_mem = 0
    nz_side_cpu = nz_side_mem = nz_init_cpu = nz_init_mem = 0
    for c in pod.spec.init_containers:
        i_cpu, i_mem, nz_i_cpu, nz_i_mem, more = _container_requests(c)
        beyond = beyond or more
        if is_sidecar(c):
            side_cpu, side_mem = side_cpu + i_cpu, side_mem + i_mem
            nz_side_cpu, nz_side_mem = nz_side_cpu + nz_i_cpu, nz_side_mem + nz_i_mem
            cpu, mem = cpu + i_cpu, mem + i_mem
            nz_cpu, nz_mem = nz_cpu + nz_i_cpu, nz_mem + nz_i_mem
            init_cpu, init_mem = max(init_cpu, side_cpu), max(init_mem, side_mem)
            nz_init_cpu, nz_init_mem = max(nz_init_cpu, nz_side_cpu), max(nz_init_mem, nz_side_mem)
        else:
            init_cpu, init_mem = max(init_cpu, i_cpu + side_cpu), max(init_mem, i_mem + side_mem)
            nz_init_cpu = max(nz_init_cpu, nz_i_cpu + nz_side_cpu)
            nz_init_mem = max(nz_init_mem, nz_i_mem + nz_side_mem)
    cpu, nz_cpu = max(cpu, init_cpu), max(nz_cpu, nz_init_cpu)
    mem, nz_mem = max(mem, init_mem), max(nz_mem, nz_init_mem)
    # The sandbox's own cost (its RuntimeClass's overhead) comes on top, as Kubernetes'
    # PodRequests adds it to both sums.
    overhead = pod.spec.overhead
    extra_cpu = _cpu_millis(overhead["cpu"]) if "cpu" in overhead else 0
    extra_mem = _memory_bytes(overhead["memory"]) if "memory" in overhead else 0
    cpu, nz_cpu = cpu + extra_cpu, nz_cpu + extra_cpu
    mem, nz_mem = mem + extra_mem, nz_mem + extra_mem
    beyond = beyond or _beyond_cpu_memory(overhead)
    return Resources(cpu, mem, 1), Resources(nz_cpu, nz_mem, 1), beyond


def scalar_requests(pod: core_pb2.Pod) -> Mapping[str, int]:
    """The pod's requests of scalar resources (NO_SCALARS for nearly every pod), summed
    and maximised over containers, init containers and sidecars as cpu is, plus overhead."""
    spec = pod.spec
    containers = [*spec.containers, *spec.init_containers]
    names = {
        name
        for c in containers
        for amounts in (c.resources.requests, c.resources.limits)
        for name in amounts
        if name not in NOT_SCALAR
    }
    names.update(n for n in spec.overhead if n not in NOT_SCALAR)
    out: dict[str, int] = {}
    for name in sorted(names):
        total = sum(_scalar_amount(c, name) for c in spec.containers)
        side = init = 0
        for c in spec.init_containers:
            amount = _scalar_amount(c, name)
            if is_sidecar(c):
                side += amount
                total += amount
                init = max(init, side)
            else:
                init = max(init, amount + side)
        total = max(total, init)
        if name in spec.overhead:
            total += _memory_bytes(spec.overhead[name])
        if total > 0:
            out[name] = total
    return out or NO_SCALARS


def pod_requests(pod: core_pb2.Pod, *, non_zero: bool = False) -> Resources:
    """Sum of container and sidecar requests, at least each init container's with the
    sidecars started before it (Kubernetes' rule), plus the pod's overhead.

    `non_zero` counts a missing cpu/memory request as the scoring default.
    """
    requests, non_zero_requests, _ = _requests(pod)
    return non_zero_requests if non_zero else requests


def pod_host_ports(pod: core_pb2.Pod) -> list[HostPort]:
    """The hostPorts the pod's containers claim."""
    out = []
    for c in pod.spec.containers:
        for p in c.ports:
            if p.host_port > 0:
                out.append(HostPort(p.host_ip or "0.0.0.0", p.protocol or "TCP", p.host_port))
    return out


def pod_key(pod: core_pb2.Pod) -> str:
    """The pod's `namespace/name`."""
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


@dataclass
class PodInfo:
    """A pod with the figures plugins need, computed once."""

    pod: core_pb2.Pod
    requests: Resources
    non_zero_requests: Resources
    host_ports: list[HostPort]
    resolved_priority: int | None = None
    """The priority from the pod's PriorityClass when spec.priority is unset."""
    has_pod_affinity_terms: bool = False
    """Any pod affinity or anti-affinity term, required or preferred."""
    has_required_anti_affinity: bool = False
    scalar_requests: Mapping[str, int] = field(default_factory=_no_scalars)
    """Requests of extended resources and hugepages, by name (most pods have none)."""

    @property
    def key(self) -> str:
        """`namespace/name`."""
        return pod_key(self.pod)

    @functools.cached_property
    def priority(self) -> int:
        """spec.priority, else the resolved PriorityClass value, else 0 (worked out once:
        preemption compares it for every pod of every node it looks at)."""
        if self.pod.spec.HasField("priority"):
            return self.pod.spec.priority
        return self.resolved_priority or 0

    @staticmethod
    def of(pod: core_pb2.Pod, priority: int | None = None) -> PodInfo:
        """Build from a pod message (and its resolved priority, if spec.priority is unset)."""
        aff = pod.spec.affinity
        required_anti = bool(
            aff.pod_anti_affinity.required_during_scheduling_ignored_during_execution
        )
        any_terms = required_anti or bool(
            aff.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution
            or aff.pod_affinity.required_during_scheduling_ignored_during_execution
            or aff.pod_affinity.preferred_during_scheduling_ignored_during_execution
        )
        requests, non_zero_requests, beyond = _requests(pod)
        return PodInfo(
            pod,
            requests,
            non_zero_requests,
            pod_host_ports(pod),
            priority,
            any_terms,
            required_anti,
            scalar_requests(pod) if beyond else NO_SCALARS,
        )


def node_allocatable(node: core_pb2.Node) -> Resources:
    """Allocatable cpu, memory and pods (capacity where allocatable is absent)."""
    alloc = node.status.allocatable or node.status.capacity
    cpu = alloc.get("cpu")
    mem = alloc.get("memory")
    pods = alloc.get("pods")
    return Resources(
        cpu_millis(cpu) if cpu else 0,
        memory_bytes(mem) if mem else 0,
        int(pods) if pods else DEFAULT_MAX_PODS,
    )


def node_scalar_allocatable(node: core_pb2.Node) -> Mapping[str, int]:
    """Allocatable amounts of the node's scalar resources (extended resources, hugepages)."""
    alloc = node.status.allocatable or node.status.capacity
    if all(name in NOT_SCALAR for name in alloc):
        return NO_SCALARS
    return {name: _memory_bytes(v) for name, v in alloc.items() if name not in NOT_SCALAR}


@dataclass
class NodeInfo:
    """One node and the pods on it, bound or assumed: what plugins see."""

    node: core_pb2.Node
    allocatable: Resources
    pods: dict[str, PodInfo] = field(default_factory=dict)
    requested: Resources = field(default_factory=Resources)
    non_zero_requested: Resources = field(default_factory=Resources)
    used_ports: list[HostPort] = field(default_factory=list)
    affinity_pods: dict[str, PodInfo] = field(default_factory=dict)
    """Pods here with any pod affinity/anti-affinity term (most pods have none)."""
    required_anti_affinity_pods: dict[str, PodInfo] = field(default_factory=dict)
    scalar_allocatable: Mapping[str, int] = field(default_factory=_no_scalars)
    """Allocatable extended resources and hugepages, by name."""
    scalar_requested: dict[str, int] = field(default_factory=dict)
    """What the pods here request of them."""

    name: str = ""
    """The node's name (kept as a plain attribute: plugins read it very often)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """The node's labels, as a plain dict for the same reason."""
    unschedulable: bool = False
    """spec.unschedulable (cordoned)."""
    hard_taints: tuple[core_pb2.Taint, ...] = ()
    """The NoSchedule and NoExecute taints, sorted out once per node change."""
    soft_taints: tuple[core_pb2.Taint, ...] = ()
    """The PreferNoSchedule taints."""

    def __post_init__(self) -> None:
        self._prepare()

    def _prepare(self) -> None:
        """Derive the plain attributes plugins read from the node object."""
        node = self.node
        self.name = node.metadata.name
        self.labels = dict(node.metadata.labels)
        self.unschedulable = node.spec.unschedulable
        self.scalar_allocatable = node_scalar_allocatable(node)
        taints = node.spec.taints
        self.hard_taints = tuple(t for t in taints if t.effect in HARD_TAINT_EFFECTS)
        self.soft_taints = tuple(t for t in taints if t.effect == "PreferNoSchedule")

    @staticmethod
    def of(node: core_pb2.Node, pods: Iterable[PodInfo] = ()) -> NodeInfo:
        """A NodeInfo for `node` holding `pods`."""
        info = NodeInfo(node, node_allocatable(node))
        for p in pods:
            info.add_pod(p)
        return info

    def set_node(self, node: core_pb2.Node) -> None:
        """Replace the node object, keeping its pods."""
        self.node = node
        self.allocatable = node_allocatable(node)
        self._prepare()

    def add_pod(self, p: PodInfo) -> None:
        """Account for a pod on this node (replacing one with the same key)."""
        if p.key in self.pods:
            self.remove_pod(p.key)
        self.pods[p.key] = p
        self.requested.add(p.requests)
        self.non_zero_requested.add(p.non_zero_requests)
        self.used_ports.extend(p.host_ports)
        for name, amount in p.scalar_requests.items():
            self.scalar_requested[name] = self.scalar_requested.get(name, 0) + amount
        if p.has_pod_affinity_terms:
            self.affinity_pods[p.key] = p
        if p.has_required_anti_affinity:
            self.required_anti_affinity_pods[p.key] = p

    def remove_pod(self, key: str) -> PodInfo | None:
        """Stop accounting for a pod; returns it, or None if it was not here."""
        p = self.pods.pop(key, None)
        if p is None:
            return None
        self.requested.sub(p.requests)
        self.non_zero_requested.sub(p.non_zero_requests)
        for hp in p.host_ports:
            self.used_ports.remove(hp)
        for name, amount in p.scalar_requests.items():
            self.scalar_requested[name] -= amount
        self.affinity_pods.pop(key, None)
        self.required_anti_affinity_pods.pop(key, None)
        return p

    def clone(self) -> NodeInfo:
        """A copy whose pod set can change without touching this one (for preemption)."""
        return NodeInfo.of(self.node, self.pods.values())


@dataclass
class Snapshot:
    """Every node of the cluster as one scheduling cycle sees it (read-only by convention)."""

    nodes: list[NodeInfo]
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Labels of each namespace, for affinity terms with a namespaceSelector."""
    volumes: VolumeObjects = field(default_factory=VolumeObjects)
    """Claims, volumes and storage classes, for volume binding."""
    prepared: NodeTable | None = None
    """The nodes as columns, kept up to date by the cache; built on first use otherwise."""

    @property
    def table(self) -> NodeTable:
        """The nodes as columns, row i for nodes[i]."""
        if self.prepared is None:
            self.prepared = NodeTable.of(self.nodes)
        return self.prepared

    def get(self, name: str) -> NodeInfo | None:
        """The NodeInfo of a node, or None."""
        row = self.table.rows.get(name)
        return None if row is None else self.nodes[row]

    def have_pods_with_affinity(self) -> list[NodeInfo]:
        """Nodes holding a pod with some pod (anti-)affinity term (Kubernetes'
        HavePodsWithAffinityList): most clusters have few or none."""
        table = self.table
        if not table.any("affinity_pods"):
            return []
        return [self.nodes[i] for i in table.affinity_pods.nonzero()[0].tolist()]

    def have_pods_with_required_anti_affinity(self) -> list[NodeInfo]:
        """Nodes holding a pod with a required anti-affinity term."""
        table = self.table
        if not table.any("anti_affinity_pods"):
            return []
        return [self.nodes[i] for i in table.anti_affinity_pods.nonzero()[0].tolist()]


class NodeRows(Sequence[NodeInfo]):
    """Some of the snapshot's nodes by row, as a sequence made into NodeInfos only when a
    plugin reads it (most PreScores never do: a list of 500 nodes per pod would cost
    more than the batch scores)."""

    def __init__(self, nodes: Sequence[NodeInfo], rows: IntArray) -> None:
        self._nodes = nodes
        self.rows = rows
        self._list: list[NodeInfo] | None = None

    def _infos(self) -> list[NodeInfo]:
        if self._list is None:
            nodes = self._nodes
            self._list = [nodes[i] for i in self.rows.tolist()]
        return self._list

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, i: int) -> NodeInfo: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[NodeInfo]: ...

    def __getitem__(self, i: int | slice) -> NodeInfo | Sequence[NodeInfo]:
        return self._infos()[i]

    def __iter__(self) -> Iterator[NodeInfo]:
        return iter(self._infos())


class CycleState(dict[str, Any]):
    """Per-pod, per-cycle scratch space that plugins share between their own stages."""

    def __init__(self) -> None:
        super().__init__()
        self.skip_filter: set[str] = set()
        """Plugins whose PreFilter said Skip."""
        self.skip_score: set[str] = set()
        """Plugins whose PreScore said Skip."""


@runtime_checkable
class Plugin(Protocol):
    """Every plugin has a name, used in statuses and the registry."""

    name: str


@runtime_checkable
class PreFilterPlugin(Plugin, Protocol):
    """Runs once per pod before any Filter; Skip skips its Filter, other failures reject all."""

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Compute per-pod state into `state`; Skip, Success, or a rejection of every node."""
        ...


@runtime_checkable
class FilterPlugin(Plugin, Protocol):
    """May the pod run on this node?"""

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Success, or why the pod cannot run on the node."""
        ...


@runtime_checkable
class BatchFilterPlugin(FilterPlugin, Protocol):
    """A Filter that can also decide for every node at once over the NodeTable."""

    def filter_batch(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> BoolArray:
        """Row i is True exactly when `filter` would return Success for snapshot.nodes[i]."""
        ...


@runtime_checkable
class PreScorePlugin(Plugin, Protocol):
    """Runs once per pod over the feasible nodes, before Score; Skip skips its Score."""

    def pre_score(
        self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], snapshot: Snapshot
    ) -> Status:
        """Compute per-pod scoring state over the feasible nodes; Skip to skip Score."""
        ...


@runtime_checkable
class ScorePlugin(Plugin, Protocol):
    """How good is this node for the pod: 0..MAX_NODE_SCORE (before normalization)."""

    weight: int

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        """The node's raw score for the pod."""
        ...


@runtime_checkable
class BatchScorePlugin(ScorePlugin, Protocol):
    """A Score that can also score many nodes at once over the NodeTable."""

    def score_batch(
        self, state: CycleState, pod: PodInfo, table: NodeTable, rows: IntArray
    ) -> IntArray:
        """Element j is exactly what `score` returns for the node of row rows[j]."""
        ...


@runtime_checkable
class NormalizePlugin(Plugin, Protocol):
    """Rescales raw scores of one Score plugin in place to 0..MAX_NODE_SCORE."""

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        """Rescale `scores` (node name -> raw score) in place to 0..MAX_NODE_SCORE."""
        ...


def default_normalize(scores: dict[str, int], *, reverse: bool = False) -> None:
    """Scale so the highest becomes MAX_NODE_SCORE (or the lowest, when reverse)."""
    top = max(scores.values(), default=0)
    if top == 0:
        if reverse:
            for k in scores:
                scores[k] = MAX_NODE_SCORE
        return
    for k, v in scores.items():
        scaled = MAX_NODE_SCORE * v // top
        scores[k] = MAX_NODE_SCORE - scaled if reverse else scaled


class FilterWhen:
    """A PreFilter that is Success when `filter_applies`, else Skip (the Filter is not run).

    Most plugins have nothing to check for most pods (no hostPort, no nodeName, no taint
    in the cluster): their PreFilter only decides whether the Filter applies, so such a
    plugin states just that condition.
    """

    name: str

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Skip this plugin's Filter for a pod it has nothing to check for."""
        if self.filter_applies(pod, snapshot):
            return SUCCESS
        return Status.skip(self.name)

    @staticmethod
    def filter_applies(pod: PodInfo, snapshot: Snapshot) -> bool:
        """Whether the Filter may reject some node for `pod`."""
        raise NotImplementedError


class ScoreWhen:
    """A PreScore that is Success when `score_applies`, else Skip (the Score is not run)."""

    name: str

    def pre_score(
        self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], snapshot: Snapshot
    ) -> Status:
        """Skip this plugin's Score when it would score every feasible node the same."""
        if self.score_applies(pod, nodes, snapshot):
            return SUCCESS
        return Status.skip(self.name)

    @staticmethod
    def score_applies(pod: PodInfo, nodes: Sequence[NodeInfo], snapshot: Snapshot) -> bool:
        """Whether the Score may tell the feasible `nodes` apart."""
        raise NotImplementedError


def filter_flagged(
    plugin: FilterPlugin, state: CycleState, pod: PodInfo, snapshot: Snapshot, flagged: BoolArray
) -> BoolArray:
    """The batch Filter of a check most nodes pass trivially: rows not `flagged` pass, and
    each flagged row passes only if `plugin.filter` says so (so the batch answer is that
    Filter's by construction)."""
    mask = ~flagged
    nodes = snapshot.nodes
    for row in flagged.nonzero()[0].tolist():
        mask[row] = plugin.filter(state, pod, nodes[row]).ok
    return mask


PluginFactory = Callable[[], Plugin]
F = TypeVar("F", bound=PluginFactory)

_REGISTRY: dict[str, PluginFactory] = {}


def register(name: str) -> Callable[[F], F]:
    """Class decorator: list a plugin under its name in the registry."""

    def deco(factory: F) -> F:
        _REGISTRY[name] = factory
        return factory

    return deco


def registry() -> Mapping[str, PluginFactory]:
    """Every registered plugin factory by name (importing `plugins` fills it)."""
    return dict(_REGISTRY)
