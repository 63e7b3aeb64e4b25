"""Leases: node heartbeats and the mirrors of leader elections."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import cluster
from master.apiserver.validation.errors import Errors


class LeaseStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        cluster.validate_lease(errs, obj)


STRATEGY = LeaseStrategy(by_resource("leases"))
