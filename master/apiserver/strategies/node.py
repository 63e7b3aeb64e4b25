"""Nodes: a node that reports only capacity offers all of it as allocatable."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import cluster
from master.apiserver.validation.errors import Errors


class NodeStrategy(Strategy):
    def default(self, obj: Any) -> None:
        defaults.default_node(obj)

    def validate(self, errs: Errors, obj: Any) -> None:
        cluster.validate_node(errs, obj)


STRATEGY = NodeStrategy(by_resource("nodes"))
