"""ControllerRevisions: a recorded template never changes; only its number may grow.

A revision is history: a rollback reads the template back and must find what was
recorded, so `data` is immutable once stored, as in Kubernetes.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation.errors import Errors
from master.apiserver.validation.fields import json_text


class ControllerRevisionStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        errs.non_negative("revision", obj.revision)
        if obj.data.json:
            json_text(errs, "data", obj.data.json)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        if new.data.json != old.data.json:
            errs.immutable("data", "...")


STRATEGY = ControllerRevisionStrategy(by_resource("controllerrevisions"))
