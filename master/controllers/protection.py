"""The loop Kubernetes' pvc-protection and pv-protection controllers share, written once.

Both keep a protection finalizer on every object of one resource (added at create by the
API server, and again here if it is missing) and take it off an object being deleted only
once nothing needs the object any more. Only that last question differs (a pod using the
claim, a claim bound to the volume), so a subclass names its finalizer and resource and
answers `in_use`; the finalizer bookkeeping and the conflict handling stay in one place.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import structlog

from client.errors import Conflict, NotFound
from client.informer import copy_object
from master.controllers.base import Context, Controller

__all__ = ["ProtectionController"]

log = structlog.get_logger("controllers.protection")


class ProtectionController(Controller):
    """Adds `finalizer` to every object of `resource`; removes it once a deleted one is unused."""

    finalizer: ClassVar[str]
    resource: ClassVar[str]
    """The plural resource whose objects carry the finalizer ("persistentvolumes")."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.protected = ctx.informers.get(self.resource)
        self.protected.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))

    @abc.abstractmethod
    async def in_use(self, obj: Any) -> bool:
        """Whether the deleted `obj` must keep its finalizer for now."""

    async def sync(self, key: str) -> None:
        cached = self.protected.get(key, copy=False)
        if cached is None:
            return
        obj = copy_object(cached)
        meta = obj.metadata
        if not meta.deletion_timestamp:
            if self.finalizer in meta.finalizers:
                return
            meta.finalizers.append(self.finalizer)
        elif self.finalizer not in meta.finalizers:
            return
        elif await self.in_use(obj):
            log.info("in use, finalizer kept", controller=self.name, key=key)
            return
        else:
            meta.finalizers.remove(self.finalizer)
            log.info("no longer in use, finalizer removed", controller=self.name, key=key)
        try:
            await self.client.update(obj)
        except NotFound:
            return
        except Conflict:
            self.enqueue(obj)
