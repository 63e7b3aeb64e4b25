"""Fake node heartbeats for controller tests: Node objects and Leases renewed by a task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from client.api import ApiClient
from client.errors import AlreadyExists, Conflict
from client.timestamps import now_micro
from proto import core_pb2, meta_pb2, workloads_pb2

LEASE_NAMESPACE = "kube-node-lease"


def _micro() -> str:
    return now_micro()


class Heartbeats:
    """Registers nodes (Ready) and renews their Leases every `period` s until stopped."""

    def __init__(self, api: ApiClient, period: float = 0.3) -> None:
        self.api = api
        self.period = period
        self.alive: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def add(self, name: str, labels: dict[str, str] | None = None) -> None:
        node = core_pb2.Node(api_version="v1", kind="Node")
        node.metadata.name = name
        node.metadata.labels.update(labels or {})
        node.metadata.labels["kubernetes.io/hostname"] = name
        with contextlib.suppress(AlreadyExists):
            await self.api.create(node)

            def ready(n: core_pb2.Node) -> None:
                stamp = _micro()[:19] + "Z"
                n.status.conditions.append(
                    meta_pb2.Condition(
                        type="Ready",
                        status="True",
                        reason="KubeletReady",
                        last_heartbeat_time=stamp,
                        last_transition_time=stamp,
                    )
                )
                n.status.capacity.update({"cpu": "4", "memory": "8Gi", "pods": "110"})
                n.status.allocatable.update({"cpu": "4", "memory": "8Gi", "pods": "110"})

            await modify_node(self.api, name, ready, status=True)
        with contextlib.suppress(AlreadyExists):
            await self.api.create(self._lease(name))
        self.alive.add(name)

    def _lease(self, name: str) -> workloads_pb2.Lease:
        lease = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
        lease.metadata.name = name
        lease.metadata.namespace = LEASE_NAMESPACE
        lease.spec.holder_identity = name
        lease.spec.lease_duration_seconds = 40
        lease.spec.renew_time = _micro()
        return lease

    async def _renew(self, name: str) -> None:
        lease = await self.api.get("leases", LEASE_NAMESPACE, name)
        assert isinstance(lease, workloads_pb2.Lease)
        lease.spec.renew_time = _micro()
        with contextlib.suppress(Conflict):
            await self.api.update(lease)

    async def _loop(self) -> None:
        while True:
            for name in sorted(self.alive):
                await self._renew(name)
            await asyncio.sleep(self.period)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def modify_node(
    api: ApiClient, name: str, change: Callable[[core_pb2.Node], object], *, status: bool = False
) -> core_pb2.Node:
    """Read, change and write a Node, again on Conflict (controllers write Nodes too)."""
    for _ in range(10):
        node = await api.get("nodes", "", name)
        assert isinstance(node, core_pb2.Node)
        change(node)
        try:
            return await (api.update_status(node) if status else api.update(node))
        except Conflict:
            continue
    raise AssertionError(f"node {name} kept changing")
