"""The authorizers' view of the store: RBAC objects and which pods run where.

RBAC decides from every Role, ClusterRole and binding; the node authorizer from which pods
are bound to which node and what they reference. Both must be current, so the API server
watches those kinds in etcd itself (the same watch its clients get, from "" so it starts
with what exists) and feeds the PolicyIndex and the PodGraph. `ready` is set once every
kind has had its initial list: the server answers no authorized request before that.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from client.kinds import by_resource
from master.apiserver.auth.graph import PodGraph
from master.apiserver.auth.rbac import PolicyIndex
from master.apiserver.etcd import Etcd
from master.apiserver.following import follow

RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")


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

    def _listed(self, resource: str, items: list[Any]) -> None:
        listed = {(o.metadata.namespace, o.metadata.name) for o in items}
        for key, gone in list(self._known.get(resource, {}).items()):
            if key not in listed:
                self._apply(resource, "DELETED", gone)
        for obj in items:
            self._apply(resource, "ADDED", obj)
        self._synced.add(resource)
        if len(self._synced) == len(RBAC_RESOURCES) + 1:
            self.ready.set()

    async def _follow(self, resource: str) -> None:
        await follow(
            self.etcd,
            by_resource(resource),
            partial(self._listed, resource),
            partial(self._apply, resource),
        )
