"""Jobs: pods selected by the Job's own uid; a template that never changes."""

from __future__ import annotations

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.strategies._workload import WorkloadStrategy
from master.apiserver.validation import workloads

STRATEGY = WorkloadStrategy(
    by_resource("jobs"),
    defaults=defaults.default_job,
    checks=workloads.validate_job,
)
