"""One scheduling decision: find nodes that fit, score a bounded share, select a host.

Pure logic over a `Snapshot`: no I/O, no clock, so it runs the same in the scheduler,
in tests and in the in-memory benchmark.

The order of the phases, and why:
- PreFilter plugins compute per-pod state once (topology and affinity counts).
- Filter visits nodes from a rotating start index, so successive pods spread their
  probes over the whole cluster, and stops after `num_feasible_nodes_to_find` nodes fit
  (Kubernetes' percentageOfNodesToScore): in a large cluster scoring every node costs
  more than the slightly better choice is worth.
- Score and Normalize run only over those feasible nodes; the best total wins, ties
  broken at random so equal nodes share the load instead of the first one taking all.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import master.scheduler.plugins  # noqa: F401 - importing the plugins registers them
from master.scheduler.framework import (
    MAX_NODE_SCORE,
    Code,
    CycleState,
    FilterPlugin,
    NodeInfo,
    NormalizePlugin,
    PodInfo,
    PreFilterPlugin,
    PreScorePlugin,
    ScorePlugin,
    Snapshot,
    Status,
    registry,
)

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

    def __init__(self, pod: PodInfo, num_all_nodes: int, statuses: dict[str, Status]) -> None:
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.statuses = statuses
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """`0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {a: b}.`"""
        return fit_error_message(self.num_all_nodes, self.statuses.values())


def fit_error_message(num_all_nodes: int, statuses: Iterable[Status]) -> str:
    """Count each reason over the nodes; most frequent first, then alphabetical."""
    counts: Counter[str] = Counter()
    for st in statuses:
        for reason in st.reasons:
            counts[reason] += 1
    parts = [f"{n} {r}" for r, n in sorted(counts.items(), key=lambda rn: (-rn[1], rn[0]))]
    head = f"0/{num_all_nodes} nodes are available"
    return f"{head}: {', '.join(parts)}." if parts else f"{head}."


@dataclass
class ScheduleResult:
    """Where the pod goes and how much work the decision took."""

    node: str
    evaluated_nodes: int
    feasible_nodes: int


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
            raise FitError(pod, len(nodes), {n.name: st for n in nodes})
        feasible, statuses = self.find_feasible(state, pod, nodes)
        if not feasible:
            raise FitError(pod, len(nodes), statuses)
        evaluated = len(feasible) + len(statuses)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, evaluated, 1)
        totals = self.prioritize(state, pod, feasible, snapshot)
        return ScheduleResult(self.select_host(totals), evaluated, len(feasible))

    def run_pre_filters(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Every PreFilter; Skip marks the plugin's Filter as not needed for this pod."""
        for pf in self.profile.pre_filters:
            st = pf.pre_filter(state, pod, snapshot)
            if st.code is Code.SKIP:
                state.skip_filter.add(pf.name)
            elif not st.ok:
                return st
        return Status()

    def run_filters(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """The first non-Success status of the filters, or Success."""
        skip = state.skip_filter
        for f in self.profile.filters:
            if skip and f.name in skip:
                continue
            st = f.filter(state, pod, node)
            if not st.ok:
                return st
        return Status()

    def find_feasible(
        self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]
    ) -> tuple[list[NodeInfo], dict[str, Status]]:
        """Nodes that pass every filter, stopping at the bounded share; and the rejections."""
        want = num_feasible_nodes_to_find(len(nodes), self.percentage_of_nodes_to_score)
        feasible: list[NodeInfo] = []
        statuses: dict[str, Status] = {}
        start = self.next_start_index % len(nodes)
        processed = 0
        for i in range(len(nodes)):
            node = nodes[(start + i) % len(nodes)]
            processed += 1
            st = self.run_filters(state, pod, node)
            if st.ok:
                feasible.append(node)
                if len(feasible) >= want:
                    break
            elif st.code is Code.ERROR:
                raise RuntimeError(f"filter {st.plugin} failed on node {node.name}: {st.reasons}")
            else:
                statuses[node.name] = st
        self.next_start_index = (start + processed) % len(nodes)
        return feasible, statuses

    def prioritize(
        self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo], snapshot: Snapshot
    ) -> dict[str, int]:
        """Weighted sum of each score plugin's normalized 0..100 scores per node."""
        for ps in self.profile.pre_scores:
            if ps.pre_score(state, pod, nodes, snapshot).code is Code.SKIP:
                state.skip_score.add(ps.name)
        totals = dict.fromkeys((n.name for n in nodes), 0)
        for sp in self.profile.scores:
            if sp.name in state.skip_score:
                continue
            scores = {n.name: sp.score(state, pod, n) for n in nodes}
            if isinstance(sp, NormalizePlugin):
                sp.normalize(state, pod, scores)
            for name, s in scores.items():
                totals[name] += max(0, min(MAX_NODE_SCORE, s)) * sp.weight
        return totals

    def select_host(self, totals: dict[str, int]) -> str:
        """The best score; among equals, each is equally likely (reservoir sampling)."""
        best = ""
        best_score = -1
        ties = 0
        for name, score in totals.items():
            if score > best_score:
                best, best_score, ties = name, score, 1
            elif score == best_score:
                ties += 1
                if self.rng.randrange(ties) == 0:
                    best = name
        return best
