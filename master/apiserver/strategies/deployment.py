"""Deployments: RollingUpdate with 25 % surge and unavailability by default; a fixed selector."""

from __future__ import annotations

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.strategies._workload import WorkloadStrategy
from master.apiserver.validation import workloads

STRATEGY = WorkloadStrategy(
    by_resource("deployments"),
    defaults=defaults.default_deployment,
    checks=workloads.validate_deployment,
)
