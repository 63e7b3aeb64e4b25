"""What an API server serves of its CustomResourceDefinitions, kept current by watching them.

Each API server follows the CRDs in etcd (list, then watch through its own watch cache)
and puts each one's kind in the run-time kind table (client/customkinds.py), so the same
generic store, REST paths, gRPC verbs, watch cache, discovery and RBAC serve it from then
on; a CRD that is gone takes its kind out again. A request naming a resource this server
has not heard of yet reads the CRDs once more before answering 404 (`refresh`), and so does
every group list (`/apis`, which names no group to miss on): the watch event of a CRD just
created may still be in flight, and "creating a CRD serves its kind at once" must hold on
every server of an HA cluster, not only on the one that wrote it. Callers share reads, but
never one that began before they asked: it may have missed the CRD they are looking for.

Deleting a CRD works as in Kubernetes: it carries the customresourcecleanup finalizer,
so it is only marked; every server that sees the mark deletes the kind's objects through
the ordinary delete (their own finalizers respected) and, once none is left, removes the
finalizer. Servers racing to do so only see NotFound or Conflict, and try again later.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import structlog

from client import customkinds, errors, kinds
from client.customkinds import CustomKind
from client.kinds import by_resource
from master.apiserver.listing import list_objects
from master.apiserver.selection import parse
from master.apiserver.strategies.customresourcedefinition import CLEANUP_FINALIZER
from master.apiserver.watchbatch import one_by_one

log = structlog.get_logger("apiserver.customresources")

CRDS = by_resource("customresourcedefinitions")
RETRY_SECONDS = (0.1, 5.0)
"""First and longest pause before following the CRDs again after the watch broke."""
CLEANUP_SECONDS = (0.2, 5.0)
"""First and longest pause between passes deleting a deleted CRD's objects."""
CLEANUP_PASSES = 10_000
"""Passes one cleanup makes before it leaves the CRD to the next event (a bound)."""


class CustomResources:
    """The CRD follower of one API server (`service`: its ResourcesService)."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.served: set[str] = set()
        self._cleanups: dict[str, asyncio.Task[None]] = {}
        self._reading: asyncio.Future[None] | None = None
        self._waiting: asyncio.Future[None] | None = None
        self.ready = asyncio.Event()

    # ---- following ----

    async def run(self) -> None:
        """Follow the CRDs until cancelled, resuming (or re-listing) after a broken watch."""
        pause = RETRY_SECONDS[0]
        everything = parse("", "")
        while True:
            try:
                items, revision = await self.service.watch_cache.initial(CRDS, "", everything, "")
                self._sync(items)
                self.ready.set()
                watch = one_by_one(
                    self.service.watch_cache.watch_batches(
                        CRDS, "", everything, resource_version=revision
                    )
                )
                async with aclosing(watch) as events:
                    async for event in events:
                        crd = kinds.decode(CRDS.resource, event.object)
                        if event.type == "DELETED":
                            self._stop(crd.metadata.name)
                        elif event.type in ("ADDED", "MODIFIED"):
                            self._serve(crd)
                        pause = RETRY_SECONDS[0]
            except asyncio.CancelledError:
                raise
            except errors.ApiError as e:
                log.info("CRD watch ended; following again", key=CRDS.resource, error=e.message)
            except Exception:
                log.exception("CRD watch failed; following again", key=CRDS.resource)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_SECONDS[1])

    async def refresh(self) -> None:
        """Read every CRD from etcd now (a lookup missed, or the groups are listed).
        Callers share the next read to begin; one already under way is not theirs."""
        read = self._waiting
        if read is None or read.done():
            under_way = self._reading if self._reading and not self._reading.done() else None
            read = self._waiting = asyncio.ensure_future(self._read_all(after=under_way))
        await asyncio.shield(read)

    async def _read_all(self, after: asyncio.Future[None] | None = None) -> None:
        if after is not None:
            await asyncio.wait({after})
        # Under way from here: a caller from now on waits for the next read.
        self._waiting, self._reading = None, asyncio.current_task()
        page = await list_objects(self.service.etcd, CRDS, "", parse("", ""))
        self._sync(page.items)

    def _sync(self, crds: list[Any]) -> None:
        names = set()
        for crd in crds:
            names.add(crd.metadata.name)
            self._serve(crd)
        for kind in kinds.dynamic_kinds():
            if isinstance(kind, CustomKind) and kind.crd_name not in names:
                self._stop(kind.crd_name)

    def _serve(self, crd: Any) -> None:
        kind = customkinds.serve(crd)
        if kind is None:
            return
        if kind.resource not in self.served:
            log.info("serving custom resource", key=f"{kind.resource}.{kind.group}")
        self.served.add(kind.resource)
        if crd.metadata.deletion_timestamp and CLEANUP_FINALIZER in crd.metadata.finalizers:
            running = self._cleanups.get(crd.metadata.name)
            if running is None or running.done():
                self._cleanups[crd.metadata.name] = asyncio.create_task(
                    self._clean_up(kind, crd.metadata.name)
                )

    def _stop(self, crd_name: str) -> None:
        for kind in kinds.dynamic_kinds():
            if isinstance(kind, CustomKind) and kind.crd_name == crd_name:
                customkinds.stop(kind.resource)
                self.served.discard(kind.resource)
                log.info("no longer serving custom resource", key=f"{kind.resource}.{kind.group}")

    # ---- deletion of a CRD ----

    async def _clean_up(self, kind: CustomKind, crd_name: str) -> None:
        """Delete every object of `kind`, then let the CRD go."""
        pause = CLEANUP_SECONDS[0]
        everything = parse("", "")
        for _ in range(CLEANUP_PASSES):
            try:
                page = await list_objects(self.service.etcd, kind, "", everything)
                for obj in page.items:
                    if obj.metadata.deletion_timestamp:
                        continue
                    try:
                        await self.service.deleter.delete(
                            kind, obj.metadata.namespace, obj.metadata.name
                        )
                    except errors.NotFound:
                        pass
                if not page.items:
                    await self._release(crd_name)
                    return
            except (errors.NotFound, errors.Conflict):
                return  # another server finished first, or will do it on the next event
            except errors.ApiError as e:
                log.warning("CRD cleanup failed; trying again", key=crd_name, error=e.message)
            await asyncio.sleep(pause)
            pause = min(pause * 2, CLEANUP_SECONDS[1])

    async def _release(self, crd_name: str) -> None:
        crd: Any = await self.service.registry.get(CRDS, "", crd_name)
        if CLEANUP_FINALIZER not in crd.metadata.finalizers:
            return
        crd.metadata.finalizers.remove(CLEANUP_FINALIZER)
        await self.service.registry.update(CRDS, "", crd.SerializeToString())
        log.info("custom objects deleted; CRD released", key=crd_name)

    async def close(self) -> None:
        """Stop the cleanups and serve none of this server's custom kinds any more."""
        tasks: list[asyncio.Future[Any]] = [t for t in self._cleanups.values() if not t.done()]
        for read in (self._reading, self._waiting):
            if read is not None and not read.done():
                tasks.append(read)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for resource in self.served:
            customkinds.stop(resource)
        self.served.clear()
