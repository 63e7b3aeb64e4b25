"""ConfigMaps: keys and size checked; data frozen once `immutable` is set."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import cluster
from master.apiserver.validation.errors import Errors


class ConfigMapStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        cluster.validate_config_map(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        cluster.validate_immutable_data(errs, new, old)


STRATEGY = ConfigMapStrategy(by_resource("configmaps"))
