"""The authorizers' view of the store: RBAC objects and which pods run where.

RBAC decides from every Role, ClusterRole and binding; the node authorizer from which pods
are bound to which node and what they reference. Both must be current, so the API server
watches those kinds in etcd itself (the same watch its clients get, from "" so it starts
with what exists) and feeds the PolicyIndex and the PodGraph. `ready` is set once every
kind has had its initial list: the server answers no authorized request before that.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from client import errors
from client.kinds import by_resource, decode
from master.apiserver.auth.graph import PodGraph
from master.apiserver.auth.rbac import PolicyIndex
from master.apiserver.etcd import Etcd
from master.apiserver.listing import list_objects
from master.apiserver.selection import Selection
from master.apiserver.watching import watch_objects

log = structlog.get_logger("apiserver.policyfeed")

RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
RETRY_SECONDS = 1.0


class PolicyFeed:
    """Keeps a PolicyIndex and a PodGraph current from etcd."""

    def __init__(self, etcd: Etcd, index: PolicyIndex, graph: PodGraph) -> None:
        self.etcd = etcd
        self.index = index
        self.graph = graph
        self._synced: set[str] = set()
        self._known: dict[str, dict[tuple[str, str], Any]] = {}
        """What each kind's feed has put in, so a re-list can remove what went meanwhile."""
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Follow every kind until cancelled."""
        await asyncio.gather(*(self._follow(r) for r in (*RBAC_RESOURCES, "pods")))

    def _apply(self, resource: str, kind_: str, obj: Any) -> None:
        known = self._known.setdefault(resource, {})
        key = (obj.metadata.namespace, obj.metadata.name)
        if kind_ == "DELETED":
            known.pop(key, None)
        else:
            known[key] = obj
        if resource == "pods":
            if kind_ == "DELETED":
                self.graph.remove(obj.metadata.namespace, obj.metadata.name)
            else:
                self.graph.put(obj)
        elif kind_ == "DELETED":
            self.index.remove(obj.DESCRIPTOR.name, obj.metadata.namespace, obj.metadata.name)
        else:
            self.index.put(obj)

    async def _follow(self, resource: str) -> None:
        kind = by_resource(resource)
        while True:
            try:
                page = await list_objects(self.etcd, kind, "", Selection())
                listed = {(o.metadata.namespace, o.metadata.name) for o in page.items}
                for key, gone in list(self._known.get(resource, {}).items()):
                    if key not in listed:
                        self._apply(resource, "DELETED", gone)
                for obj in page.items:
                    self._apply(resource, "ADDED", obj)
                self._synced.add(resource)
                if len(self._synced) == len(RBAC_RESOURCES) + 1:
                    self.ready.set()
                events = watch_objects(
                    self.etcd,
                    kind,
                    "",
                    Selection(),
                    resource_version=str(page.resource_version),
                )
                async for event in events:
                    self._apply(resource, event.type, decode(resource, event.object))
            except errors.ApiError as e:
                # Compacted or etcd away: start over from a fresh list.
                log.warning("policy feed restarts", key=resource, error=e.message)
                await asyncio.sleep(RETRY_SECONDS)
