"""Secrets: stringData is merged into data and never stored; type defaults to Opaque."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import cluster
from master.apiserver.validation.errors import Errors


class SecretStrategy(Strategy):
    def canonicalize(self, obj: Any) -> None:
        for key, value in obj.string_data.items():
            obj.data[key] = value.encode()
        obj.ClearField("string_data")

    def default(self, obj: Any) -> None:
        obj.type = obj.type or "Opaque"

    def validate(self, errs: Errors, obj: Any) -> None:
        cluster.validate_secret(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        cluster.validate_immutable_data(errs, new, old)


STRATEGY = SecretStrategy(by_resource("secrets"))
