"""The namespace controller: a Terminating namespace is emptied, then deleted.

Deleting a namespace that holds objects leaves it in the store, phase Terminating. This
controller deletes everything in it, kind by kind (reading the API, not a cache, since
it must see every object of every kind), and asks again while anything is left: pods
wait for their kubelets, owners for the garbage collector. Once the namespace is
empty, deleting it again removes it.
"""

from __future__ import annotations

from typing import Any

import structlog

from client import customkinds, kinds
from client.errors import NotFound
from master.controllers.base import Context, Controller
from master.controllers.deleting import delete_exact

log = structlog.get_logger("controllers.namespace")

RECHECK = 1.0
"""Seconds between looks at a namespace that is not empty yet."""


class NamespaceController(Controller):
    """Empties and removes Terminating namespaces."""

    name = "namespace"
    component = "namespace-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces = ctx.informers.get("namespaces")
        self.namespaces.add_handler(on_add=self._changed, on_update=lambda o, n: self._changed(n))

    def _changed(self, ns: Any) -> None:
        meta = ns.metadata
        if meta.deletion_timestamp:
            self.queue.add(meta.name)

    async def sync(self, key: str) -> None:
        """Delete what is left in namespace `key`; delete it once empty."""
        ns = self.namespaces.get(key)
        if ns is None or not ns.metadata.deletion_timestamp:
            return
        left = 0
        await customkinds.load(self.client)  # custom objects go with their namespace too
        for kind in (*kinds.KINDS, *kinds.dynamic_kinds()):
            if not kind.namespaced:
                continue
            page = await self.client.list_all(kind.resource, key)
            for obj in page.items:
                left += 1
                if obj.metadata.deletion_timestamp:
                    continue
                await delete_exact(self.client, kind.resource, obj, or_replaced=True)
        if left:
            log.info("namespace not empty yet", namespace=key, objects=left)
            self.queue.add_after(key, RECHECK)
            return
        try:
            await self.client.delete("namespaces", "", key)
        except NotFound:
            return
        log.info("namespace emptied and deleted", namespace=key)
        # If something arrived meanwhile, the namespace is still Terminating: look again.
        self.queue.add_after(key, RECHECK)
