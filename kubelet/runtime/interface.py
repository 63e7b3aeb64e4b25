"""The container-runtime interface the pod workers use: small on purpose.

Everything a pod worker needs to know about a container is recoverable from the runtime
(labels carry the pod's identity and the restart attempt), so a kubelet that restarts
rebuilds its whole picture from `list_containers` and never restarts what is running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from kubelet.network.dns import PodNaming as PodNaming  # part of the runtime API

# Labels on every container the kubelet creates.
LABEL_POD_UID = "io.tugboat.pod.uid"
LABEL_POD_NAME = "io.tugboat.pod.name"
LABEL_POD_NAMESPACE = "io.tugboat.pod.namespace"
LABEL_CONTAINER_NAME = "io.tugboat.container.name"
LABEL_ATTEMPT = "io.tugboat.container.attempt"
LABEL_NODE = "io.tugboat.node"
LABEL_KIND = "io.tugboat.kind"
""""sandbox", "init", "app" or "ephemeral"."""

SANDBOX_NAME = "POD"
"""The container name of a pod's sandbox, as Kubernetes spells the pause container."""


class RuntimeFailure(Exception):
    """A runtime operation failed; the message says which and why."""


class ImagePullError(RuntimeFailure):
    """The image is not present and could not be pulled."""


class ContainerNotFound(RuntimeFailure):
    """No such container."""


class UnknownRuntimeHandler(RuntimeFailure):
    """The engine has no runtime by the name a pod's RuntimeClass gives as its handler."""

    def __init__(self, handler: str) -> None:
        # containerd's words, which the kubelet passes on in the pod's event.
        super().__init__(f'failed to get sandbox runtime: no runtime for "{handler}" is configured')
        self.handler = handler


@dataclass(frozen=True)
class PodRef:
    """The identity of a pod as the runtime labels it."""

    uid: str
    name: str
    namespace: str


@dataclass(frozen=True)
class Mount:
    """A host path bind-mounted into a container."""

    host_path: str
    container_path: str
    read_only: bool = False
    propagation: str = ""
    """How mounts made later under the path travel: "" (none, private), "HostToContainer"
    (from the host into the container) or "Bidirectional" (both ways), Kubernetes' names."""


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials for one registry, from a pod's imagePullSecrets."""

    username: str
    password: str
    server: str


@dataclass
class ContainerConfig:
    """What to run: the resolved form of a pod's container spec."""

    name: str
    image: str
    kind: str = "app"
    attempt: int = 0
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    working_dir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    cpu_millis: int = 0
    """CPU limit in millicores; 0 for none."""
    memory_bytes: int = 0
    """Memory limit in bytes; 0 for none."""
    privileged: bool = False
    run_as_user: int | None = None
    read_only_root: bool = False
    stdin: bool = False
    stdin_once: bool = False
    """Stdin closes when the first attach holding it ends (Docker's StdinOnce)."""
    tty: bool = False
    pid_mode: str = ""
    """"" (its own PID namespace), "host" (hostPID), "sandbox" (shareProcessNamespace) or
    "target" (the PID namespace of the container `pid_target` names, as CRI's TARGET mode:
    an ephemeral container's targetContainerName)."""
    pid_target: str = ""
    """The runtime id of the running container whose PID namespace a "target" joins."""
    runtime_handler: str = ""
    """The engine runtime the pod's sandbox runs with (its RuntimeClass's handler), which
    its containers run with too; "" for the engine's default."""


@dataclass(frozen=True)
class ContainerInfo:
    """A container as the runtime sees it now."""

    id: str
    pod: PodRef
    name: str
    kind: str
    attempt: int
    image: str
    image_id: str
    state: str
    """"created", "running" or "exited"."""
    exit_code: int = 0
    created_at: str = ""
    started_at: str = ""
    finished_at: str = ""
    reason: str = ""
    """"OOMKilled", "Error", "Completed" once exited."""
    ip: str = ""
    """The pod IP, for a sandbox."""
    pid: int = 0
    """The main process's PID while running (0 when unknown): where its stats are read."""
    runtime_handler: str = ""
    """The engine runtime a started sandbox runs with (Docker's HostConfig.Runtime; ""
    when not known, and for other containers): its pod's containers are started with it."""

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class ContainerStats:
    """Cumulative usage of one container (or of the whole node) at one moment.

    Counters only grow while the container lives; rates are the collector's business.
    """

    cpu_seconds: float
    memory_usage_bytes: int
    memory_working_set_bytes: int
    """Usage less inactive file cache: what `kubectl top` shows and the OOM killer weighs."""
    memory_rss_bytes: int = 0
    rx_bytes: int = 0
    rx_packets: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0
    """Network counters of the container's network namespace (meaningful on a sandbox)."""
    fs_usage_bytes: int | None = None
    """Bytes in the container's writable layer; None until measured (it is slow)."""


@dataclass(frozen=True)
class ExecResult:
    """The outcome of a command run to completion inside a container."""

    exit_code: int
    output: bytes


class ExecSession(Protocol):
    """A running exec: stdin in, multiplexed output out, then the exit code."""

    async def write(self, data: bytes) -> None:
        """Send bytes to the command's stdin."""

    async def close_stdin(self) -> None:
        """Signal end of input."""

    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(stream, data) pairs, stream 1 = stdout, 2 = stderr, until the command ends."""
        ...

    async def exit_code(self) -> int:
        """The command's exit code, once its output has ended."""
        ...

    async def close(self) -> None:
        """Release the connection."""


@dataclass(frozen=True)
class VersionInfo:
    """What the node reports in nodeInfo."""

    runtime_version: str
    os: str
    architecture: str
    kernel_version: str
    os_image: str
    cpu_millis: int
    memory_bytes: int


class ContainerRuntime(Protocol):
    """What a pod worker needs from a container engine."""

    node: str

    async def version(self) -> VersionInfo:
        """Engine version, OS and machine size."""
        ...

    async def ensure_sandbox(
        self,
        pod: PodRef,
        hostname: str,
        attempt: int,
        dns_policy: str = "",
        naming: PodNaming | None = None,
        runtime_handler: str = "",
    ) -> ContainerInfo:
        """Create and start the pod's network holder; its `ip` is the pod IP. `dns_policy`
        is the pod's: "Default" keeps the node's resolver, anything else the cluster DNS;
        `naming` adds the pod's dnsConfig and hostAliases; `runtime_handler` names the
        engine runtime it runs with ("" the default), UnknownRuntimeHandler when the
        engine has none by that name."""
        ...

    async def image_present(self, image: str) -> bool:
        """Whether the image is available locally."""
        ...

    async def pull_image(self, image: str, auth: RegistryAuth | None = None) -> None:
        """Pull the image, offering `auth` to its registry; ImagePullError when it cannot
        be had."""

    async def start_container(
        self, pod: PodRef, sandbox: ContainerInfo, config: ContainerConfig
    ) -> ContainerInfo:
        """Create and start a container inside the sandbox's network namespace."""
        ...

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM, wait up to grace_seconds, then SIGKILL; no error if already stopped."""

    async def remove_container(self, container_id: str) -> None:
        """Remove a stopped container; no error if it is already gone."""

    async def list_containers(self) -> list[ContainerInfo]:
        """Every container of this node, running or not."""
        ...

    async def inspect(self, container_id: str) -> ContainerInfo:
        """The current state of one container; ContainerNotFound if it is gone."""
        ...

    def logs(
        self,
        container_id: str,
        *,
        follow: bool,
        tail: int | None,
        timestamps: bool,
        since: float | None = None,
    ) -> AsyncIterator[bytes]:
        """The container's output, stdout and stderr interleaved; with `since` (epoch
        seconds), only what was written from then on."""
        ...

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> ExecSession:
        """Start a command in a running container."""
        ...

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> ExecSession:
        """Join the streams of the container's own process: its output from now on, and
        its stdin if it keeps one open. The exit code is the container's once it stops."""
        ...

    async def exec_run(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        """Run a command to completion (probes); TimeoutError after timeout seconds."""
        ...

    async def stats(self, containers: Sequence[ContainerInfo]) -> dict[str, ContainerStats]:
        """Usage of each running container, by id; a container that vanished is left out."""
        ...

    async def node_stats(self) -> ContainerStats:
        """Usage of the node as a whole (its root cgroup: every process, not just pods)."""
        ...

    async def close(self) -> None:
        """Release the engine connection."""


@runtime_checkable
class ReportsChanges(Protocol):
    """A runtime that tells when any of its containers changed, so the PLEG relists on
    that rather than every second (Kubernetes' evented PLEG); every change, not only the
    ones the kubelet makes, must be reported."""

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every change to the containers from now on."""
        ...
