"""ReplicaSets: one replica by default; a selector that never changes."""

from __future__ import annotations

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.strategies._workload import WorkloadStrategy
from master.apiserver.validation import workloads

STRATEGY = WorkloadStrategy(
    by_resource("replicasets"),
    defaults=defaults.default_replica_set,
    checks=workloads.validate_replica_set,
)
