"""The garbage collector: ownerReferences cascade, in the three ways Kubernetes offers.

The API server records the caller's propagation policy on the owner: `orphan` and
`foregroundDeletion` are finalizers that keep it in the store, Background deletes it at
once. This controller does the rest:

- orphan: remove the owner's references from every dependent, then the finalizer;
- foreground: delete every dependent (foreground again when it has dependents of its
  own), and remove the finalizer once no dependent with blockOwnerDeletion is left;
- background, and any other dangling reference: a dependent whose owners are all gone
  is deleted; one with some owners left loses the references to the absent ones.

"Gone" is decided by a live read of the owner (name and uid), never by the cache
alone: a dependent can reach its informer before its brand-new owner reaches another.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from client import customkinds, kinds
from client.errors import Conflict, NotFound
from client.informer import Informer, copy_object
from client.kinds import Object
from master.controllers import controller_utils as cu
from master.controllers.base import Context, Controller
from master.controllers.deleting import delete_exact

log = structlog.get_logger("controllers.garbagecollector")

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
IGNORED = frozenset({"events"})
"""Kinds never owners or dependents worth following (Kubernetes' GC ignores events too)."""
MONITORED = tuple(k.resource for k in kinds.KINDS if k.resource not in IGNORED)
"""The resources whose objects are owners or dependents: every served kind, so a kind
added later (a StatefulSet's pods, a CronJob's Jobs, a claim handed to a pod) is
collected without a line here."""


class GarbageCollector(Controller):
    """Keys are `resource:namespace/name`."""

    name = "garbagecollector"
    component = "garbage-collector-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.informers: dict[str, Informer[Any]] = {}
        self.uids: dict[str, tuple[str, str]] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        """uid -> (resource, key) of every cached object."""
        for resource in MONITORED:
            informer = ctx.informers.get(resource)
            self.informers[resource] = informer
            self._follow(resource, informer)
        # Custom objects own and are owned like any object: each CRD's resource is
        # followed by an informer of its own, started when the CRD is seen.
        crds = ctx.informers.get(customkinds.CRDS)
        crds.add_handler(
            on_add=self._crd_seen,
            on_update=lambda _old, new: self._crd_seen(new),
            on_delete=self._crd_gone,
        )

    def _follow(self, resource: str, informer: Informer[Any]) -> None:
        informer.add_handler(
            on_add=self._handler(resource, "add"),
            on_update=self._update_handler(resource),
            on_delete=self._handler(resource, "delete"),
        )

    def _crd_seen(self, crd: Any) -> None:
        kind = customkinds.serve(crd)
        if kind is None or kind.resource in self.informers:
            return
        informer = Informer[Any](self.client, kind.resource)
        informer.add_index(cu.OWNER_UID_INDEX, cu.owner_uids)
        self._follow(kind.resource, informer)
        self.informers[kind.resource] = informer
        informer.start()
        log.info("following custom resource", key=kind.resource)

    def _crd_gone(self, crd: Any) -> None:
        resource = crd.spec.names.plural
        informer = self.informers.get(resource)
        if resource in MONITORED or informer is None:
            return
        del self.informers[resource]
        customkinds.stop(resource)
        self._stopping.add(asyncio.create_task(informer.stop()))
        self._stopping = {t for t in self._stopping if not t.done()}

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            # The custom resources' informers are this controller's own: stop them too.
            for resource, informer in list(self.informers.items()):
                if resource not in MONITORED:
                    await informer.stop()
            if self._stopping:
                await asyncio.gather(*self._stopping, return_exceptions=True)

    # -- handlers ----------------------------------------------------------------------

    def _handler(self, resource: str, what: str) -> Any:
        def handle(obj: Object) -> None:
            if what == "add":
                self.uids[obj.metadata.uid] = (resource, kinds.key(obj))
                self._look_at(resource, obj)
            else:
                self.uids.pop(obj.metadata.uid, None)
                for dep_resource, dep in self._dependents(obj.metadata.uid):
                    self.queue.add(f"{dep_resource}:{kinds.key(dep)}")
                for ref in obj.metadata.owner_references:
                    self._enqueue_uid(ref.uid)

        return handle

    def _update_handler(self, resource: str) -> Any:
        def handle(old: Object, new: Object) -> None:
            self.uids[new.metadata.uid] = (resource, kinds.key(new))
            self._look_at(resource, new)

        return handle

    def _look_at(self, resource: str, obj: Object) -> None:
        meta = obj.metadata
        waiting = meta.deletion_timestamp and (
            ORPHAN in meta.finalizers or FOREGROUND in meta.finalizers
        )
        unknown_owner = any(ref.uid not in self.uids for ref in meta.owner_references)
        owner_in_foreground = any(self._in_foreground(ref.uid) for ref in meta.owner_references)
        if waiting or unknown_owner or owner_in_foreground:
            self.queue.add(f"{resource}:{kinds.key(obj)}")

    def _in_foreground(self, uid: str) -> bool:
        found = self._cached(uid)
        return found is not None and FOREGROUND in found.metadata.finalizers

    def _enqueue_uid(self, uid: str) -> None:
        where = self.uids.get(uid)
        if where is not None:
            self.queue.add(f"{where[0]}:{where[1]}")

    def _cached(self, uid: str) -> Object | None:
        where = self.uids.get(uid)
        if where is None:
            return None
        obj: Object | None = self.informers[where[0]].get(where[1], copy=False)
        return obj

    def _dependents(self, uid: str) -> list[tuple[str, Object]]:
        found: list[tuple[str, Object]] = []
        for resource, informer in self.informers.items():
            for obj in informer.by_index(cu.OWNER_UID_INDEX, uid, copy=False):
                found.append((resource, obj))
        return found

    # -- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Process one object as an owner being deleted, or as a dependent."""
        resource, _, obj_key = key.partition(":")
        informer = self.informers.get(resource)
        if informer is None:
            return
        obj = informer.get(obj_key)
        if obj is None:
            return
        meta = obj.metadata
        if meta.deletion_timestamp and ORPHAN in meta.finalizers:
            await self._orphan_dependents(resource, obj)
            return
        if meta.deletion_timestamp and FOREGROUND in meta.finalizers:
            await self._delete_dependents(resource, obj)
            return
        if meta.owner_references:
            await self._check_owners(resource, obj)

    async def _orphan_dependents(self, resource: str, owner: Object) -> None:
        uid = owner.metadata.uid
        for dep_resource, dep in self._dependents(uid):
            await self._update_retrying(dep_resource, dep, lambda o: cu.remove_owner(o, uid))
            log.info("orphaned", owner=cu.describe(owner), dependent=cu.describe(dep))
        await self._remove_finalizer(resource, owner, ORPHAN)

    async def _delete_dependents(self, resource: str, owner: Object) -> None:
        uid = owner.metadata.uid
        blocking = 0
        for dep_resource, dep in self._dependents(uid):
            if any(
                r.uid == uid and r.HasField("block_owner_deletion") and r.block_owner_deletion
                for r in dep.metadata.owner_references
            ):
                blocking += 1
            if dep.metadata.deletion_timestamp:
                continue
            policy = "Foreground" if self._dependents(dep.metadata.uid) else "Background"
            if not await delete_exact(
                self.client, dep_resource, dep, propagation_policy=policy, or_replaced=True
            ):
                continue
            log.info(
                "deleted dependent",
                owner=cu.describe(owner),
                dependent=cu.describe(dep),
                policy=policy,
            )
        if blocking == 0:
            await self._remove_finalizer(resource, owner, FOREGROUND)

    async def _check_owners(self, resource: str, obj: Object) -> None:
        absent: list[str] = []
        for ref in obj.metadata.owner_references:
            if self._cached(ref.uid) is not None:
                continue
            if not await self._exists(obj, ref):
                absent.append(ref.uid)
        if not absent:
            return
        if len(absent) == len(obj.metadata.owner_references):
            if obj.metadata.deletion_timestamp:
                return
            if not await delete_exact(self.client, resource, obj, or_replaced=True):
                return
            log.info("deleted object whose owners are gone", object=cu.describe(obj))
            return

        def drop(o: Object) -> bool:
            changed = False
            for uid in absent:
                changed = cu.remove_owner(o, uid) or changed
            return changed

        await self._update_retrying(resource, obj, drop)

    async def _exists(self, dependent: Object, ref: Any) -> bool:
        """Whether the owner named by `ref` (with that uid) exists, by a live read."""
        try:
            kind = kinds.by_kind(ref.api_version, ref.kind)
        except kinds.UnknownKindError:
            # Perhaps a custom kind whose CRD came after this process started.
            await customkinds.load(self.client)
            try:
                kind = kinds.by_kind(ref.api_version, ref.kind)
            except kinds.UnknownKindError:
                return True  # cannot tell: never delete on a guess
        namespace = dependent.metadata.namespace if kind.namespaced else ""
        try:
            owner = await self.client.get(kind.resource, namespace, ref.name)
        except NotFound:
            return False
        return bool(owner.metadata.uid == ref.uid)

    async def _remove_finalizer(self, resource: str, obj: Object, finalizer: str) -> None:
        def drop(o: Object) -> bool:
            if finalizer not in o.metadata.finalizers:
                return False
            o.metadata.finalizers.remove(finalizer)
            return True

        await self._update_retrying(resource, obj, drop)
        log.info("removed finalizer", object=cu.describe(obj), finalizer=finalizer)

    async def _update_retrying(self, resource: str, obj: Object, change: Any) -> None:
        """Apply `change` and write; re-read on Conflict (a few times, then raise)."""
        current = copy_object(obj)
        for _ in range(5):
            if current.metadata.uid != obj.metadata.uid or not change(current):
                return
            try:
                await self.client.update(current)
                return
            except NotFound:
                return
            except Conflict:
                try:
                    current = await self.client.get(
                        resource, current.metadata.namespace, current.metadata.name
                    )
                except NotFound:
                    return
        raise Conflict(f"{cu.describe(obj)}: kept changing while the garbage collector wrote it")
