"""What every pod worker of one node shares: runtime, API, caches, settings, events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from client.verbs import Deleter, StatusWriter
from kubelet.backoff import Backoff
from kubelet.pods.config import ConfigSource
from kubelet.pods.downward import UNKNOWN_CAPACITY, NodeCapacity
from kubelet.pods.pleg import ContainerCache
from kubelet.pods.service_env import ServiceCache
from kubelet.pods.volumes import VolumeManager
from kubelet.probes.workers import ProbeManager
from kubelet.runtime.interface import ContainerRuntime
from proto import core_pb2


class PodApi(StatusWriter, Deleter, Protocol):
    """The API calls a pod worker makes: read and delete its pod, write its status."""


class EventSink(Protocol):
    """Records Events (client.events.EventRecorder has this shape)."""

    async def record(self, obj: core_pb2.Pod, type: str, reason: str, message: str) -> None:
        """Record an Event about obj; never raises."""


@dataclass(frozen=True)
class PodSettings:
    """Tunables of the pod workers; the defaults are Kubernetes'."""

    crash_backoff_initial: float = 10.0
    """First crash-loop back-off delay, in seconds (doubles per restart)."""
    crash_backoff_max: float = 300.0
    """Longest crash-loop back-off delay, in seconds."""
    image_backoff_initial: float = 10.0
    """First image-pull back-off delay, in seconds."""
    image_backoff_max: float = 300.0
    """Longest image-pull back-off delay, in seconds."""
    resync_period: float = 10.0
    """How often an idle worker re-checks its pod (and refreshes configMap/secret volumes)."""
    dead_containers_per_container: int = 1
    """Exited containers kept per pod container besides the newest (for `logs --previous`)."""
    default_grace_seconds: int = 30
    """terminationGracePeriodSeconds when the pod gives none."""


@dataclass
class NodeContext:
    """Shared by the pod workers of one node."""

    node_name: str
    host_ip: str
    runtime: ContainerRuntime
    api: PodApi
    events: EventSink
    config: ConfigSource
    cache: ContainerCache
    volumes: VolumeManager
    probes: ProbeManager
    settings: PodSettings
    root_dir: Path
    crash_backoff: Backoff = field(init=False)
    image_backoff: Backoff = field(init=False)
    services: ServiceCache | None = None
    """The node's Service informer, for the service environment variables."""
    capacity: NodeCapacity = UNKNOWN_CAPACITY
    """The node's machine, once read: what a container's unset limit reads as."""
    may_start: Callable[[], bool] = field(default=lambda: True)
    """False while the node is fenced or reconnecting (kubelet.fencing): start nothing."""
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        s = self.settings
        self.crash_backoff = Backoff(s.crash_backoff_initial, s.crash_backoff_max)
        self.image_backoff = Backoff(s.image_backoff_initial, s.image_backoff_max)

    def event(self, pod: core_pb2.Pod, type_: str, reason: str, message: str) -> None:
        """Record an Event in the background: a slow API must not hold up a pod."""
        task = asyncio.create_task(self.events.record(pod, type_, reason, message))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
