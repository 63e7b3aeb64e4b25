"""Informers that feed the scheduler: pods, nodes, priority classes, namespaces.

Handlers only call the scheduler's `on_*` methods, which update its cache and queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

from client.api import ApiClient
from client.informer import Informer
from master.scheduler.scheduler import Scheduler
from proto import core_pb2, workloads_pb2


class Sources:
    """The informers of one scheduler term; `start`, `wait_synced`, `stop`."""

    def __init__(self, api: ApiClient, scheduler: Scheduler) -> None:
        s = scheduler
        self.pods: Informer[core_pb2.Pod] = Informer(api, "pods")
        self.nodes: Informer[core_pb2.Node] = Informer(api, "nodes")
        self.priority_classes: Informer[workloads_pb2.PriorityClass] = Informer(
            api, "priorityclasses"
        )
        self.namespaces: Informer[core_pb2.Namespace] = Informer(api, "namespaces")
        # Priority classes and namespaces first: pods are resolved against them.
        self.priority_classes.add_handler(
            s.on_priority_class,
            lambda _old, new: s.on_priority_class(new),
            s.on_priority_class_deleted,
        )
        self.namespaces.add_handler(
            s.on_namespace, lambda _old, new: s.on_namespace(new), s.on_namespace_deleted
        )
        self.nodes.add_handler(s.on_node, lambda _old, new: s.on_node(new), s.on_node_deleted)
        self.pods.add_handler(s.on_pod, lambda _old, new: s.on_pod(new), s.on_pod_deleted)
        # Storage before pods too: the volume-binding plugin resolves pods' claims.
        self.storage: list[Informer[Any]] = [
            Informer(api, resource)
            for resource in ("storageclasses", "persistentvolumes", "persistentvolumeclaims")
        ]
        for informer in self.storage:
            informer.add_handler(
                s.on_volume_object,
                lambda _old, new: s.on_volume_object(new),
                s.on_volume_object_deleted,
            )
        self._informers: list[Informer[Any]] = [
            self.priority_classes,
            self.namespaces,
            *self.storage,
            self.nodes,
            self.pods,
        ]

    async def start(self, *, sync_timeout: float = 60.0) -> bool:
        """Start each informer in order, waiting for each to sync; False on timeout."""
        for informer in self._informers:
            informer.start()
            if not await informer.wait_synced(sync_timeout):
                return False
        return True

    async def stop(self) -> None:
        """Stop every informer."""
        await asyncio.gather(*(i.stop() for i in self._informers), return_exceptions=True)
