"""ReplicationControllers: core/v1's older ReplicaSet. Its selector is a label map that
defaults to the template's labels and, unlike apps/v1 selectors, may change."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import workloads
from master.apiserver.validation.errors import Errors


class ReplicationControllerStrategy(Strategy):
    def default(self, obj: Any) -> None:
        defaults.default_replication_controller(obj)

    def validate(self, errs: Errors, obj: Any) -> None:
        workloads.validate_replication_controller(errs, obj)


STRATEGY = ReplicationControllerStrategy(by_resource("replicationcontrollers"))
