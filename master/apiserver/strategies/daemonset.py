"""DaemonSets: a RollingUpdate of one node at a time by default; a fixed selector."""

from __future__ import annotations

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.strategies._workload import WorkloadStrategy
from master.apiserver.validation import workloads

STRATEGY = WorkloadStrategy(
    by_resource("daemonsets"),
    defaults=defaults.default_daemon_set,
    checks=workloads.validate_daemon_set,
)
