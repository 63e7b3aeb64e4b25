"""The pod manager: one worker per pod bound to this node, and clean-up of orphans.

The pod source tells it which pods exist; the PLEG tells it whose containers changed.
Containers and volume directories of pods it does not know are removed, but only after
the pod list has been read once: a kubelet that just restarted must first learn its
pods, so it adopts their running containers instead of killing them.
"""

from __future__ import annotations

import asyncio

import structlog

from client.timeouts import cancel_and_wait
from kubelet.pods.context import NodeContext
from kubelet.pods.worker import PodWorker
from proto import core_pb2

log = structlog.get_logger("kubelet.pods")


class PodManager:
    """Starts, feeds and reaps the pod workers of one node."""

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.workers: dict[str, PodWorker] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.synced = asyncio.Event()
        self._orphan_task: asyncio.Task[None] | None = None

    def upsert(self, pod: core_pb2.Pod) -> None:
        """A pod bound to this node was added or changed."""
        uid = pod.metadata.uid
        worker = self.workers.get(uid)
        if worker is not None:
            worker.update(pod)
            return
        worker = PodWorker(self.ctx, pod)
        self.workers[uid] = worker
        task = asyncio.create_task(worker.run(), name=f"pod-{worker.key}")
        self._tasks[uid] = task
        task.add_done_callback(self._reap)

    def _reap(self, task: asyncio.Task[None]) -> None:
        for uid, t in list(self._tasks.items()):
            if t is task:
                del self._tasks[uid]
                self.workers.pop(uid, None)

    def remove(self, uid: str) -> None:
        """The pod was deleted from the API server."""
        worker = self.workers.get(uid)
        if worker is not None:
            worker.removed()

    def replace_all(self, pods: list[core_pb2.Pod]) -> None:
        """A full list: upsert each pod, and the ones missing from it are gone."""
        current = {p.metadata.uid for p in pods}
        for uid in list(self.workers):
            if uid not in current:
                self.remove(uid)
        for p in pods:
            self.upsert(p)
        if not self.synced.is_set():
            self.synced.set()
            self.containers_changed("")

    def find(self, namespace: str, name: str) -> PodWorker | None:
        """The worker of a pod by namespace and name."""
        for w in self.workers.values():
            meta = w.pod.metadata
            if meta.namespace == namespace and meta.name == name and not w.gone:
                return w
        return None

    def containers_changed(self, uid: str) -> None:
        """The PLEG saw the pod's containers change: wake its worker, or reap orphans."""
        worker = self.workers.get(uid)
        if worker is not None:
            worker.kick()
            return
        if self.synced.is_set() and (self._orphan_task is None or self._orphan_task.done()):
            self._orphan_task = asyncio.create_task(self.collect_orphans())

    async def collect_orphans(self) -> None:
        """Remove containers and volume directories of pods this node no longer has."""
        known = set(self.workers)
        for uid in self.ctx.cache.pod_uids() - known:
            containers = self.ctx.cache.containers(uid)
            if not containers:
                continue
            log.info(
                "removing containers of a pod that no longer exists",
                pod=f"{containers[0].pod.namespace}/{containers[0].pod.name}",
                pod_uid=uid,
                node=self.ctx.node_name,
            )
            for c in containers:
                if c.running:
                    await self.ctx.runtime.stop_container(c.id, 2)
                await self.ctx.runtime.remove_container(c.id)
        for uid in set(self.ctx.volumes.known_pods()) - known - self.ctx.cache.pod_uids():
            await self.ctx.volumes.cleanup(uid)

    async def close(self, timeout: float = 10.0) -> set[asyncio.Task[None]]:
        """Stop the workers (the containers keep running for the next kubelet to adopt).

        Returns the tasks still running after `timeout` s.
        """
        tasks = list(self._tasks.values())
        if self._orphan_task is not None:
            tasks.append(self._orphan_task)
        return await cancel_and_wait(tasks, timeout)
