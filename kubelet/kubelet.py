"""One node's kubelet assembled: heartbeat, PLEG, probes, pods, pod source, stats.

Stopping a kubelet stops its tasks only: the containers keep running, and the next
kubelet on the node adopts them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from client.api import ApiClient
from client.events import EventRecorder
from client.informer import Informer
from client.timeouts import cancel_and_wait, wait_event
from kubelet.fencing import Fence, FenceSettings, SelfFencing
from kubelet.node import NodeHeartbeat, NodeSettings
from kubelet.pods.config import ApiConfigSource
from kubelet.pods.context import NodeContext, PodSettings
from kubelet.pods.downward import NodeCapacity
from kubelet.pods.manager import PodManager
from kubelet.pods.pleg import ContainerCache
from kubelet.pods.volumes import VolumeManager
from kubelet.podsource import watch_pods
from kubelet.probes.workers import ProbeManager
from kubelet.runtime.interface import ContainerRuntime
from kubelet.stats.collector import StatsCollector
from proto import core_pb2

log = structlog.get_logger("kubelet")


@dataclass(frozen=True)
class KubeletConfig:
    """Everything one node's kubelet is configured with."""

    node_name: str
    address: str
    """The node's InternalIP, the pods' hostIP, and where the node agent listens."""
    port: int
    """The node-agent port published in the Node's daemonEndpoints."""
    root_dir: Path
    lease_period: float = 2.0
    relist_period: float = 1.0
    pods: PodSettings = field(default_factory=PodSettings)
    status_check_period: float = 10.0
    fencing: FenceSettings = field(default_factory=FenceSettings)
    """Self-fencing when the lease cannot be renewed, and the reconnect kill."""
    cluster_ca: bytes = b""
    """The cluster CA's PEM, mounted into pods as their ServiceAccount's ca.crt."""
    stats_period: float = 10.0
    """Seconds between two samples of container usage; 0: no stats (and no `tug top`)."""
    node_labels: dict[str, str] = field(default_factory=dict)
    """Labels of the Node besides the well-known ones (--node-labels)."""
    register_with_taints: tuple[core_pb2.Taint, ...] = ()
    """Taints the Node is created with (--register-with-taints)."""


class Kubelet:
    """Runs one node until stopped."""

    def __init__(
        self,
        config: KubeletConfig,
        api: ApiClient,
        runtime: ContainerRuntime,
        services: Informer[core_pb2.Service] | None = None,
        nodes: Informer[core_pb2.Node] | None = None,
    ) -> None:
        """`services`: a Service informer shared with other nodes of this process, which
        then runs it; without one, the kubelet runs its own. `nodes`: likewise a Node
        informer, from which the heartbeat re-reads its Node; without one, it GETs it."""
        self.config = config
        self.api = api
        self.runtime = runtime
        self.heartbeat: NodeHeartbeat | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pod_source: asyncio.Task[None] | None = None
        self.manager: PodManager | None = None
        self.fence = Fence(config.fencing, config.node_name)
        self.events = events = EventRecorder(api, "kubelet", config.node_name)
        self.nodes = nodes
        self._owns_services = services is None
        self.services: Informer[core_pb2.Service] = (
            Informer(api, "services") if services is None else services
        )
        self.probes = ProbeManager(runtime, self._probe_changed, self._probe_failed)
        self.cache = ContainerCache(runtime, self._containers_changed, config.relist_period)
        self.ctx = NodeContext(
            node_name=config.node_name,
            host_ip=config.address,
            runtime=runtime,
            api=api,
            events=events,
            config=ApiConfigSource(api),
            cache=self.cache,
            volumes=VolumeManager(config.root_dir, ApiConfigSource(api), config.cluster_ca),
            probes=self.probes,
            settings=config.pods,
            root_dir=config.root_dir,
            may_start=self.fence.may_start,
            services=self.services,
        )
        self.manager = PodManager(self.ctx)
        self.stats = StatsCollector(runtime, self.cache, config.node_name, config.stats_period)

    def _containers_changed(self, uid: str) -> None:
        if self.manager is not None:
            self.manager.containers_changed(uid)

    def _probe_changed(self, uid: str) -> None:
        if self.manager is not None and uid in self.manager.workers:
            self.manager.workers[uid].kick()

    def _probe_failed(self, uid: str, kind: str, container: str, message: str) -> None:
        if self.manager is None or uid not in self.manager.workers:
            return
        pod = self.manager.workers[uid].pod
        self.ctx.event(pod, "Warning", "Unhealthy", f"{kind} probe failed: {message}")

    async def start(self) -> None:
        """Register the node and start every loop; returns once they run."""
        machine = await self.runtime.version()
        self.stats.cpu_cores = machine.cpu_millis / 1000
        self.ctx.capacity = NodeCapacity(machine.cpu_millis, machine.memory_bytes)
        c = self.config
        self.heartbeat = NodeHeartbeat(
            self.api,
            NodeSettings(
                name=c.node_name,
                address=c.address,
                port=c.port,
                lease_period=c.lease_period,
                status_check_period=c.status_check_period,
                labels=dict(c.node_labels),
                taints=c.register_with_taints,
            ),
            machine,
            on_renewed=self.fence.renewed,
            nodes=self.nodes,
        )
        c.root_dir.mkdir(parents=True, exist_ok=True)
        assert self.manager is not None
        self.fence.reset()
        fencing = SelfFencing(
            self.fence,
            self.runtime,
            self.api,
            self._reconnected,
            lease_version=self.heartbeat.lease_version,
        )
        self._tasks = [
            asyncio.create_task(fencing.run(), name=f"fencing-{c.node_name}"),
            asyncio.create_task(self.heartbeat.run(), name=f"heartbeat-{c.node_name}"),
            asyncio.create_task(self.cache.run(), name=f"pleg-{c.node_name}"),
        ]
        if self._owns_services:
            self._tasks.append(self.services.start())
        if c.stats_period > 0:
            self._tasks.append(asyncio.create_task(self.stats.run(), name=f"stats-{c.node_name}"))
        # Learn the node's containers before pods arrive, so workers adopt rather than start.
        await wait_event(self.cache.synced, 30)
        self._start_pod_source()
        log.info("kubelet started", node=c.node_name, address=c.address, port=c.port)

    def _start_pod_source(self, version: str = "") -> None:
        assert self.manager is not None
        name = self.config.node_name
        self._pod_source = asyncio.create_task(
            watch_pods(self.api, name, self.manager, version), name=f"pods-{name}"
        )
        self._tasks.append(self._pod_source)

    async def _reconnected(self, pods: list[core_pb2.Pod], version: str) -> None:
        """After a disconnection: the fresh pod list replaces the old watch and its backlog,
        and the new watch starts where that list was read, not with a list of its own."""
        old = self._pod_source
        if old is not None:
            old.cancel()
            await asyncio.gather(old, return_exceptions=True)
            self._tasks.remove(old)
        assert self.manager is not None
        self.manager.replace_all(pods)
        self._start_pod_source(version)

    async def stop(self, timeout: float = 10.0) -> None:
        """Cancel every loop and worker, waiting at most about `timeout` s for each group.

        Containers are left running. A task still running afterwards is named in a warning.
        """
        stuck = await cancel_and_wait(self._tasks, timeout)
        if self.manager is not None:
            stuck |= await self.manager.close(timeout)
        stuck |= await self.probes.close(timeout)
        # The pods' last Events go out before the caller closes the client; briefly, as
        # a kubelet often stops because its API server is gone.
        await self.events.close(min(timeout, 2.0))
        self.cache.forget_counts()
        if stuck:
            log.warning(
                "kubelet tasks did not stop",
                node=self.config.node_name,
                tasks=sorted(t.get_name() for t in stuck),
            )
        log.info("kubelet stopped", node=self.config.node_name)
