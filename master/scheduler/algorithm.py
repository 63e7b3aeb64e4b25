"""One scheduling decision: find nodes that fit, score a bounded share, select a host.

Pure logic over a `Snapshot`: no I/O, no clock, so it runs the same in the scheduler,
in tests and in the in-memory benchmark.

The order of the phases, and why:
- PreFilter plugins compute per-pod state once (topology and affinity counts).
- Filter visits nodes from a rotating start index, so successive pods spread their
  probes over the whole cluster, and stops after `num_feasible_nodes_to_find` nodes fit
  (Kubernetes' percentageOfNodesToScore): in a large cluster scoring every node costs
  more than the slightly better choice is worth. Filters with a batch form decide for
  every node in a few array operations over the snapshot's NodeTable; the others run
  node by node only where those let the pod through. A plugin whose PreFilter said Skip
  is not run at all.
- Score and Normalize run only over those feasible nodes (batch scores as arrays); the
  best total wins, ties broken at random so equal nodes share the load instead of the
  first one taking all.
- When no node fits, every node is filtered one by one again for its reason: that path
  is rare, and the message and preemption need each node's own status.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

import master.scheduler.plugins  # noqa: F401 - importing the plugins registers them
from master.scheduler.framework import (
    MAX_NODE_SCORE,
    SUCCESS,
    BatchFilterPlugin,
    BatchScorePlugin,
    Code,
    CycleState,
    FilterPlugin,
    NodeInfo,
    NodeRows,
    NormalizePlugin,
    PodInfo,
    PreFilterPlugin,
    PreScorePlugin,
    ScorePlugin,
    Snapshot,
    Status,
    registry,
)
from master.scheduler.nodetable import BoolArray, IntArray

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE = 0
"""0 means adaptive: 50% minus 1% per 125 nodes, at least 5%."""


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes to look for before scoring (Kubernetes' rule)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return num_all_nodes
    adaptive = percentage
    if adaptive <= 0:
        adaptive = 50 - num_all_nodes // 125
        adaptive = max(adaptive, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    found = num_all_nodes * adaptive // 100
    return max(found, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class Profile:
    """The plugins of each stage, in the order they run."""

    pre_filters: list[PreFilterPlugin]
    filters: list[FilterPlugin]
    pre_scores: list[PreScorePlugin]
    scores: list[ScorePlugin]
    batch_filters: frozenset[str] = field(init=False)
    """Filters with a batch form (sorted out once: isinstance on a Protocol is slow)."""
    batch_scores: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.batch_filters = frozenset(
            f.name for f in self.filters if isinstance(f, BatchFilterPlugin)
        )
        self.batch_scores = frozenset(
            s.name for s in self.scores if isinstance(s, BatchScorePlugin)
        )


DEFAULT_PLUGINS = (
    "NodeUnschedulable",
    "NodeName",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "VolumeBinding",
    "PodTopologySpread",
    "InterPodAffinity",
    "NodeResourcesLeastAllocated",
    "NodeResourcesBalancedAllocation",
)
"""The default profile's plugins by their registered names, in the order they run: cheap,
decisive filters first, so a cordon or a name mismatch ends a node's check early."""


def profile(names: Sequence[str] = DEFAULT_PLUGINS) -> Profile:
    """A profile of registered plugins by name (kube-scheduler's profile configuration):
    each plugin is made once and takes part in every stage it implements, in `names`'
    order. ValueError naming an unknown plugin."""
    found = registry()
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ValueError(
            f"unknown scheduler plugins {unknown}; registered: {', '.join(sorted(found))}"
        )
    plugins = [found[n]() for n in names]
    return Profile(
        pre_filters=[p for p in plugins if isinstance(p, PreFilterPlugin)],
        filters=[p for p in plugins if isinstance(p, FilterPlugin)],
        pre_scores=[p for p in plugins if isinstance(p, PreScorePlugin)],
        scores=[p for p in plugins if isinstance(p, ScorePlugin)],
    )


def default_profile() -> Profile:
    """Every default plugin, from the registry."""
    return profile(DEFAULT_PLUGINS)


class FitError(Exception):
    """No node fits; the message aggregates the per-node reasons like Kubernetes."""

    def __init__(
        self,
        pod: PodInfo,
        num_all_nodes: int,
        statuses: dict[str, Status],
        *,
        pre_filter_message: str = "",
    ) -> None:
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.statuses = statuses
        self.pre_filter_message = pre_filter_message
        """A PreFilter's rejection of every node: said once, not counted per node."""
        self.post_filter_message = ""
        """What preemption found (`preemption: ...`), set by the scheduler once it tried."""
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """`0/3 nodes are available: 1 node(s) had untolerated taint {a: b}, 2 Insufficient
        cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for
        scheduling, 2 No preemption victims found for incoming pod..` (the doubled stop
        is Kubernetes' own: its preemption part ends in one and is appended with another)."""
        if self.pre_filter_message:
            text = f"{NO_NODE_AVAILABLE.format(self.num_all_nodes)}: {self.pre_filter_message}."
        else:
            text = fit_error_message(self.num_all_nodes, self.statuses.values())
        if self.post_filter_message:
            text += f" {self.post_filter_message}."
        return text


NO_NODE_AVAILABLE = "0/{} nodes are available"


def fit_error_message(num_all_nodes: int, statuses: Iterable[Status]) -> str:
    """Count each reason over the nodes; the `<count> <reason>` parts in string order, as
    kube-scheduler sorts them (so `1 node(s) had ...` comes before `2 Insufficient cpu`)."""
    counts: Counter[str] = Counter()
    for st in statuses:
        for reason in st.reasons:
            counts[reason] += 1
    parts = sorted(f"{n} {r}" for r, n in counts.items())
    head = NO_NODE_AVAILABLE.format(num_all_nodes)
    return f"{head}: {', '.join(parts)}." if parts else f"{head}."


@dataclass
class ScheduleResult:
    """Where the pod goes and how much work the decision took."""

    node: str
    evaluated_nodes: int
    feasible_nodes: int


def _in_rotated_order(mask: BoolArray | None, n: int, start: int, enough: int) -> IntArray:
    """Rows whose mask is set (every row when None), from `start` round to `start - 1`,
    at least the first `enough` of them when there are: the rows before `start` are
    looked at only when those after it are fewer than `enough`, and the rows after it
    first only as far as twice `enough` (most pods find their sample there, and at
    5,000 nodes a sample is a tenth of the rows)."""
    if mask is None:
        after = np.arange(start, min(n, start + enough), dtype=np.int64)
    else:
        after = np.flatnonzero(mask[start : start + 2 * enough]) + start
        if len(after) < enough and start + 2 * enough < n:
            after = np.flatnonzero(mask[start:]) + start
    if len(after) >= enough or start == 0:
        return after
    before = np.arange(start, dtype=np.int64) if mask is None else np.flatnonzero(mask[:start])
    return np.concatenate((after, before))


@dataclass
class Algorithm:
    """Stateful only in the rotating start index and the tie-breaking random source."""

    profile: Profile = field(default_factory=default_profile)
    percentage_of_nodes_to_score: int = DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE
    rng: random.Random = field(default_factory=random.Random)
    next_start_index: int = 0

    def schedule(self, pod: PodInfo, snapshot: Snapshot) -> ScheduleResult:
        """The node for the pod, or FitError with every node's reason."""
        nodes = snapshot.nodes
        if not nodes:
            raise FitError(pod, 0, {})
        state = CycleState()
        st = self.run_pre_filters(state, pod, snapshot)
        if not st.ok:
            raise FitError(
                pod,
                len(nodes),
                {n.name: st for n in nodes},
                pre_filter_message=", ".join(st.reasons),
            )
        feasible, evaluated = self.find_feasible(state, pod, snapshot)
        if len(feasible) == 0:
            raise FitError(pod, len(nodes), self.diagnose(state, pod, nodes))
        if len(feasible) == 1:
            return ScheduleResult(nodes[int(feasible[0])].name, evaluated, 1)
        totals = self.prioritize(state, pod, feasible, snapshot)
        best = int(feasible[self.select_host(totals)])
        return ScheduleResult(nodes[best].name, evaluated, len(feasible))

    def run_pre_filters(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Every PreFilter; Skip marks the plugin's Filter as not needed for this pod."""
        for pf in self.profile.pre_filters:
            st = pf.pre_filter(state, pod, snapshot)
            if st.code is Code.SKIP:
                state.skip_filter.add(pf.name)
            elif not st.ok:
                return st
        return SUCCESS

    def run_filters(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """The first non-Success status of the filters, or Success."""
        skip = state.skip_filter
        for f in self.profile.filters:
            if skip and f.name in skip:
                continue
            st = f.filter(state, pod, node)
            if not st.ok:
                return st
        return SUCCESS

    def find_feasible(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot
    ) -> tuple[IntArray, int]:
        """Rows of nodes that pass every filter, found from the rotating start and stopping
        at the bounded share; and how many nodes that search went through.

        Filters with a batch form decide for every node at once; the others then run
        node by node, in the rotated order, only on nodes the batch filters let through.
        The outcome is the one of running every filter on each node in turn.
        """
        nodes = snapshot.nodes
        n = len(nodes)
        want = num_feasible_nodes_to_find(n, self.percentage_of_nodes_to_score)
        start = self.next_start_index % n
        skip = state.skip_filter
        mask: BoolArray | None = None
        one_by_one: list[FilterPlugin] = []
        for f in self.profile.filters:
            if f.name in skip:
                continue
            if f.name in self.profile.batch_filters:
                m = cast(BatchFilterPlugin, f).filter_batch(state, pod, snapshot)
                mask = m if mask is None else mask & m
            else:
                one_by_one.append(f)
        candidates = _in_rotated_order(mask, n, start, want if not one_by_one else n)
        if not one_by_one:
            feasible = candidates[:want]
        else:
            found: list[int] = []
            for row in candidates.tolist():
                if self._passes(one_by_one, state, pod, nodes[row]):
                    found.append(row)
                    if len(found) >= want:
                        break
            feasible = np.array(found, dtype=np.int64)
        if len(feasible) >= want:
            processed = (int(feasible[-1]) - start) % n + 1
        else:
            processed = n
        self.next_start_index = (start + processed) % n
        return feasible, processed

    @staticmethod
    def _passes(
        filters: list[FilterPlugin], state: CycleState, pod: PodInfo, node: NodeInfo
    ) -> bool:
        for f in filters:
            st = f.filter(state, pod, node)
            if st.code is Code.ERROR:
                raise RuntimeError(f"filter {st.plugin} failed on node {node.name}: {st.reasons}")
            if not st.ok:
                return False
        return True

    def diagnose(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> dict[str, Status]:
        """Why each node rejects the pod, node by node (only when none fits: the rare path)."""
        statuses: dict[str, Status] = {}
        for node in nodes:
            st = self.run_filters(state, pod, node)
            if st.code is Code.ERROR:
                raise RuntimeError(f"filter {st.plugin} failed on node {node.name}: {st.reasons}")
            if not st.ok:
                statuses[node.name] = st
        return statuses

    def prioritize(
        self, state: CycleState, pod: PodInfo, rows: IntArray, snapshot: Snapshot
    ) -> IntArray:
        """Weighted sum of each score plugin's normalized 0..100 scores, per row of `rows`."""
        nodes = NodeRows(snapshot.nodes, rows)
        for ps in self.profile.pre_scores:
            if ps.pre_score(state, pod, nodes, snapshot).code is Code.SKIP:
                state.skip_score.add(ps.name)
        totals = np.zeros(len(rows), dtype=np.int64)
        for sp in self.profile.scores:
            if sp.name in state.skip_score:
                continue
            if sp.name in self.profile.batch_scores:
                raw = cast(BatchScorePlugin, sp).score_batch(state, pod, snapshot.table, rows)
            else:
                scores = {n.name: sp.score(state, pod, n) for n in nodes}
                if isinstance(sp, NormalizePlugin):
                    sp.normalize(state, pod, scores)
                raw = np.fromiter(scores.values(), dtype=np.int64, count=len(scores))
            totals += np.minimum(np.maximum(raw, 0), MAX_NODE_SCORE) * sp.weight
        return totals

    def select_host(self, totals: IntArray) -> int:
        """The index of the best score; among equals, each is equally likely."""
        best = np.flatnonzero(totals == totals.max())
        if len(best) == 1:
            return int(best[0])
        return int(best[self.rng.randrange(len(best))])
