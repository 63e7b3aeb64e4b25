"""What ReplicaSets, Deployments, DaemonSets and Jobs share: a pod template and a selector
that never changes. Each of their modules is this strategy with its own defaults and checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from client.kinds import Kind
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import workloads
from master.apiserver.validation.errors import Errors


class WorkloadStrategy(Strategy):
    def __init__(
        self,
        kind: Kind,
        *,
        defaults: Callable[[Any], None],
        checks: Callable[[Errors, Any], None],
    ) -> None:
        super().__init__(kind)
        self._defaults = defaults
        self._checks = checks

    def default(self, obj: Any) -> None:
        self._defaults(obj)

    def validate(self, errs: Errors, obj: Any) -> None:
        self._checks(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        workloads.validate_workload_update(errs, new, old)
