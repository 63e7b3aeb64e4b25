"""Services: a ClusterIP and nodePorts allocated in the Service's own transaction.

The allocation keys (allocators.py) are claimed when the Service is written and released
when it leaves the store, each in the same etcd transaction as the Service, so two API
servers never hand out the same address and a crash never leaks one half-written.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.allocators import (
    Claim,
    ServiceAllocator,
    drop_health_check_port,
    keep_allocated,
    release_ops,
)
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import service
from master.apiserver.validation.errors import Errors


class ServiceStrategy(Strategy):
    def default(self, obj: Any) -> None:
        defaults.default_service_spec(obj.spec)

    def prepare_for_update(self, new: Any, old: Any) -> None:
        drop_health_check_port(new, old)
        keep_allocated(new, old)

    def validate(self, errs: Errors, obj: Any) -> None:
        service.validate_service(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        service.validate_service_update(errs, new, old)

    async def claim(self, allocator: ServiceAllocator, new: Any, old: Any | None) -> Claim:
        return await allocator.claim(new, old)

    def release_ops(self, old: Any) -> list[Any]:
        return release_ops(old)


STRATEGY = ServiceStrategy(by_resource("services"))
