"""RuntimeClasses: cluster-scoped, no status, no defaults; a handler that never changes.

Pods read a class twice: the API server's RuntimeClass admission (admission/runtimeclass.py)
when a pod naming it is created, and the kubelet when it makes the pod's sandbox.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import node
from master.apiserver.validation.errors import Errors


class RuntimeClassStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        node.validate_runtime_class(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        node.validate_runtime_class_update(errs, new, old)


STRATEGY = RuntimeClassStrategy(by_resource("runtimeclasses"))
