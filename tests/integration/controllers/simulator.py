"""A stand-in for kubelets and the scheduler in controller tests, writing what they would.

It binds unscheduled pods to its node names in turn, reports bound pods Running and
Ready (with an IP) unless `ready(pod)` says otherwise, and confirms graceful deletions
the way a kubelet does (delete with grace 0). Tests that need the real components run
`tug-kubelet --runtime fake` and `tug-scheduler` instead; this keeps the many small
controller tests fast and their pod states under the test's control.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable

from client.api import ApiClient
from client.errors import ApiError
from client.informer import Informer
from client.timeouts import within
from client.timestamps import now
from proto import core_pb2, meta_pb2


def stamp() -> str:
    return now()


class PodSimulator:
    """Plays scheduler + kubelet for pods; `start()` then `await stop()`."""

    def __init__(
        self,
        api: ApiClient,
        nodes: list[str],
        *,
        ready: Callable[[core_pb2.Pod], bool] = lambda pod: True,
        run: Callable[[core_pb2.Pod], bool] = lambda pod: True,
    ) -> None:
        self.api = api
        self.nodes = nodes
        self.ready = ready
        self.run = run
        self.paused = False
        self._next = itertools.count()
        self._ips = itertools.count(2)
        self.informer = Informer[core_pb2.Pod](api, "pods")
        self._wake = asyncio.Event()
        self.informer.add_handler(
            on_add=lambda p: self._wake.set(),
            on_update=lambda o, n: self._wake.set(),
            on_delete=lambda p: self._wake.set(),
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self.informer.run()), asyncio.create_task(self._loop())]
        await self.informer.wait_synced(10)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def poke(self) -> None:
        """Look at every pod again (after changing `ready`)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await within(self._wake.wait(), 0.5)
            self._wake.clear()
            if self.paused:
                continue
            for pod in self.informer.list():
                try:
                    await self._step(pod)
                except ApiError:
                    self._wake.set()

    async def _step(self, pod: core_pb2.Pod) -> None:
        if pod.spec.node_name and pod.spec.node_name not in self.nodes:
            return  # that node's "kubelet" is not ours, or is dead
        if pod.metadata.deletion_timestamp:
            if pod.metadata.deletion_grace_period_seconds > 0 or pod.metadata.finalizers == []:
                await self.api.delete(
                    "pods",
                    pod.metadata.namespace,
                    pod.metadata.name,
                    grace_period_seconds=0,
                    precondition_uid=pod.metadata.uid,
                )
            return
        if pod.status.phase in ("Succeeded", "Failed"):
            return
        if not pod.spec.node_name:
            if not self.nodes:
                return
            pod.spec.node_name = self.nodes[next(self._next) % len(self.nodes)]
            await self.api.update(pod)
            return
        if pod.spec.node_name not in self.nodes or not self.run(pod):
            return
        ready = self.ready(pod)
        want = "True" if ready else "False"
        current = next((c for c in pod.status.conditions if c.type == "Ready"), None)
        if pod.status.phase == "Running" and current is not None and current.status == want:
            return
        pod.status.phase = "Running"
        if not pod.status.pod_ip:
            n = next(self._ips)
            pod.status.pod_ip = f"10.1.{n // 250}.{n % 250 + 1}"
            pod.status.start_time = stamp()
        del pod.status.conditions[:]
        pod.status.conditions.append(
            meta_pb2.Condition(type="Ready", status=want, last_transition_time=stamp())
        )
        await self.api.update_status(pod)
