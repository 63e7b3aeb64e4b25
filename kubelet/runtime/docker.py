"""The Docker runtime: the Docker SDK, every blocking call on a worker thread.

The SDK is synchronous. Its calls run on this runtime's own thread pool rather than the
event loop's default one, so that a burst of Docker calls (or long log and exec streams,
which get threads of their own) never starves other `to_thread` users in the process.

Every container is labelled with the node's name, and this runtime only ever lists or
touches containers carrying its own node label, so several kubelets can share one engine.
Where a sandbox joins the pod network (bridge, address, resolver) is planned by
kubelet/network/bridge.py; the runtime only carries the plan out, by Docker's endpoint or
by kubelet/network/veth.py once the sandbox runs.

When thirty pods start at once the engine is the bottleneck, so each call a pod costs it
counts: containers are made with the low-level API (create, start; docker-py's
`containers.run` inspects each container on top), a sandbox is inspected once (for the
address Docker gives it at its start) and that inspect serves the next relist too, an
app container is inspected only by the relist, and a relist builds a created, never
started container from its list row. Lists and inspects run on threads apart from the
creates and starts, which hold a thread for seconds each under such a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker
import docker.errors
import structlog
from docker.utils.socket import frames_iter

from client.timeouts import within
from kubelet import metrics
from kubelet.network.bridge import (
    CLUSTER_CIDR,
    CLUSTER_DNS,
    NETWORK,
    POD_IP_LABEL,
    POD_NETWORK_LABEL,
    SERVICE_RANGE,
    BridgeSettings,
    DockerBridge,
    NetworkError,
    SandboxPlan,
)
from kubelet.network.veth import VethError, attach, attached
from kubelet.runtime import interface as rt
from kubelet.runtime.docker_stats import DockerStatsReader, node_usage

T = TypeVar("T")
log = structlog.get_logger("kubelet.runtime")

PAUSE_IMAGE = "tugboat/pause:1"
IMAGE_SEEN_SECONDS = 5.0
"""How long the engine's yes to "is this image here" is believed without asking again."""
_WORKERS = 16
"""Threads for the engine calls that change things (create, start, stop...)."""
_READERS = 8
"""Threads for lists and inspects (the relist's), apart from those."""
CLOSE_WAIT_SECONDS = 30.0
"""How long close() waits for engine calls already on a thread (a burst's starts take
seconds each)."""
_ZERO_TIME = "0001-01-01T00:00:00Z"
_END = object()


def _identity(labels: dict[str, str]) -> dict[str, Any]:
    """A container's pod, name, kind and attempt, from the labels this runtime gave it."""
    return {
        "pod": rt.PodRef(
            labels.get(rt.LABEL_POD_UID, ""),
            labels.get(rt.LABEL_POD_NAME, ""),
            labels.get(rt.LABEL_POD_NAMESPACE, ""),
        ),
        "name": labels.get(rt.LABEL_CONTAINER_NAME, ""),
        "kind": labels.get(rt.LABEL_KIND, "app"),
        "attempt": int(labels.get(rt.LABEL_ATTEMPT, "0") or 0),
    }


@contextlib.contextmanager
def _engine_errors(container_id: str) -> Iterator[None]:
    """The engine's refusals as the runtime interface's errors, so that callers need
    not know Docker: a vanished container, or any other refusal with the engine's reason."""
    try:
        yield
    except docker.errors.NotFound:
        raise rt.ContainerNotFound(container_id) from None
    except docker.errors.APIError as e:
        raise rt.RuntimeFailure(str(e.explanation or e)) from None


def _unknown_runtime(e: docker.errors.APIError) -> bool:
    """Whether the engine refused a create for a runtime it has not configured (Docker
    20.10 says "Unknown runtime specified X", later ones "unknown or invalid runtime name")."""
    said = str(e.explanation or e).lower()
    return "unknown runtime" in said or "invalid runtime name" in said


def docker_time(value: str) -> str:
    """Docker's nanosecond timestamp as Kubernetes' RFC 3339 seconds; "" for the zero time."""
    if not value or value.startswith("0001-01-01"):
        return ""
    head = value.split(".")[0].rstrip("Z")
    return head + "Z"


_PROPAGATION = {"": "", "HostToContainer": ",rslave", "Bidirectional": ",rshared"}
"""Kubernetes' mountPropagation as the bind propagation Docker takes (its CRI shim's
mapping): private, slave (the host's new mounts appear inside) or shared (both ways).
Private is left to Docker's default, as the shim leaves it: Docker binds privately
unless the source holds its own root (`/`, what `kubectl debug node/...` mounts at
/host), which it binds as a slave and refuses with an explicit rprivate."""


def _bind(m: rt.Mount) -> str:
    """A bind in Docker's `SRC:DST:MODE` form."""
    mode = "ro" if m.read_only else "rw"
    return f"{m.host_path}:{m.container_path}:{mode}{_PROPAGATION[m.propagation]}"


def container_name(node: str, pod: rt.PodRef, name: str, attempt: int) -> str:
    """A readable, unique Docker name: tugboat_<node>_<ns>_<pod>_<container>_<attempt>_<uid>."""
    raw = f"tugboat_{node}_{pod.namespace}_{pod.name}_{name}_{attempt}_{pod.uid[:8]}"
    return "".join(c if c.isalnum() or c in "_.-" else "-" for c in raw)


class DockerRuntime:
    """ContainerRuntime over a Docker engine (DOCKER_HOST or the local socket)."""

    def __init__(
        self,
        node: str,
        *,
        network: str = NETWORK,
        pause_image: str = PAUSE_IMAGE,
        cluster_dns: str = CLUSTER_DNS,
        cluster_domain: str = "cluster.local",
        pod_cidr_mode: str = "docker",
        sandbox_network: str = "veth",
        cluster_cidr: str = CLUSTER_CIDR,
        service_range: str = SERVICE_RANGE,
        host_gw: bool = False,
        pod_cidr_wait: float = 5.0,
        cluster_dns_wait: float = 0.0,
    ):
        self.node = node
        self.pause_image = pause_image
        self._client = docker.from_env(timeout=120, max_pool_size=_WORKERS + _READERS)
        self._pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix=f"docker-{node}")
        self._reads = ThreadPoolExecutor(
            max_workers=_READERS, thread_name_prefix=f"docker-read-{node}"
        )
        self.bridge = DockerBridge(
            self._client,
            self._call,
            node,
            BridgeSettings(
                network=network,
                cluster_dns=cluster_dns,
                cluster_domain=cluster_domain,
                pod_cidr_mode=pod_cidr_mode,
                sandbox_network=sandbox_network,
                cluster_cidr=cluster_cidr,
                service_range=service_range,
                host_gw=host_gw,
                pod_cidr_wait=pod_cidr_wait,
                cluster_dns_wait=cluster_dns_wait,
            ),
            {"label": [f"{rt.LABEL_NODE}={node}", f"{rt.LABEL_KIND}=sandbox"]},
        )
        self._cache: dict[tuple[str, str], rt.ContainerInfo] = {}
        self._attaching: set[str] = set()
        """Names of the sandboxes being started and attached now."""
        self._images_seen: dict[str, float] = {}
        self._open_streams: set[Callable[[], None]] = set()
        """How to close each log or exec stream still open."""
        self._stats = DockerStatsReader(self._client.api, {"label": [f"{rt.LABEL_NODE}={node}"]})

    async def _call(self, operation: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        return await self._on(self._pool, operation, lambda: fn(*args, **kw))

    async def _read(self, operation: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """A quick read (list, inspect, image check) on threads of its own: when thirty
        pods start at once, creates and starts hold every thread of the main pool for
        seconds, and neither the relist that tells their workers what happened nor a
        pod's image check must queue behind them."""
        return await self._on(self._reads, operation, lambda: fn(*args, **kw))

    async def _on(self, pool: ThreadPoolExecutor, operation: str, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        try:
            return await loop.run_in_executor(pool, fn)
        finally:
            elapsed = time.monotonic() - started
            metrics.RUNTIME_OPERATION_SECONDS.labels(operation_type=operation).observe(elapsed)

    async def close(self) -> None:
        """Close open log and exec streams, the thread pools and the engine connection.

        Never waits on a stream's thread (it ends once its connection is closed), but does
        wait, up to CLOSE_WAIT_SECONDS, for a create or start already on a thread: it
        lands anyway, and whoever stops this kubelet must find what it made to remove it
        (tests left such containers behind on the engine).
        """
        for close in list(self._open_streams):
            close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._reads.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(TimeoutError):
            await within(asyncio.to_thread(self._pool.shutdown, wait=True), CLOSE_WAIT_SECONDS)
        self._client.close()

    async def version(self) -> rt.VersionInfo:
        """Engine version, OS and machine size, as nodeInfo and capacity report them."""
        ver = await self._call("version", self._client.version)
        info = await self._call("info", self._client.info)
        return rt.VersionInfo(
            runtime_version=f"docker://{ver.get('Version', '')}",
            os=str(ver.get("Os", "linux")),
            architecture=str(ver.get("Arch", "")),
            kernel_version=str(info.get("KernelVersion", "")),
            os_image=str(info.get("OperatingSystem", "")),
            cpu_millis=int(info.get("NCPU", 1)) * 1000,
            memory_bytes=int(info.get("MemTotal", 0)),
        )

    async def stats(self, containers: Sequence[rt.ContainerInfo]) -> dict[str, rt.ContainerStats]:
        """Usage of the running containers: kernel files where visible, else the engine's."""
        return await self._call("container_stats", self._stats.read, containers)

    async def node_stats(self) -> rt.ContainerStats:
        """The node's root cgroup (the whole machine, for nodes sharing one host)."""
        return await self._call("node_stats", node_usage)

    def _labels(self, pod: rt.PodRef, name: str, kind: str, attempt: int) -> dict[str, str]:
        return {
            rt.LABEL_POD_UID: pod.uid,
            rt.LABEL_POD_NAME: pod.name,
            rt.LABEL_POD_NAMESPACE: pod.namespace,
            rt.LABEL_CONTAINER_NAME: name,
            rt.LABEL_ATTEMPT: str(attempt),
            rt.LABEL_NODE: self.node,
            rt.LABEL_KIND: kind,
        }

    async def ensure_sandbox(
        self,
        pod: rt.PodRef,
        hostname: str,
        attempt: int,
        dns_policy: str = "",
        naming: rt.PodNaming | None = None,
        runtime_handler: str = "",
    ) -> rt.ContainerInfo:
        """Start the pause container where the pod network plans it; its IP is the pod's.
        A handler is Docker's runtime name (HostConfig.Runtime), as the CRI names one."""
        if not await self.image_present(self.pause_image):
            raise rt.ImagePullError(
                f"sandbox image {self.pause_image} is missing: run deploy/images/build.sh"
            )
        name = container_name(self.node, pod, rt.SANDBOX_NAME, attempt)
        api = self._client.api

        def create(plan: SandboxPlan) -> str:
            labels = self._labels(pod, rt.SANDBOX_NAME, "sandbox", attempt)
            extra: dict[str, Any] = {}
            hosts = dict(naming.hosts) if naming is not None else {}
            if plan.attachment is not None:
                # Docker does not know the address: the label keeps it, and the hosts
                # file names the pod by it, as Docker's own endpoint would.
                labels |= {POD_IP_LABEL: plan.ip, POD_NETWORK_LABEL: self.bridge.name}
                hosts[hostname[:63]] = plan.ip
            if hosts:
                extra["extra_hosts"] = hosts
            if runtime_handler:
                extra["runtime"] = runtime_handler
            # NetworkingConfig's shape (its type stub takes one endpoint, not a map).
            endpoint = (
                {
                    "EndpointsConfig": {
                        plan.network: api.create_endpoint_config(ipv4_address=plan.ip)
                    }
                }
                if plan.ip and plan.attachment is None
                else None
            )
            created = api.create_container(
                self.pause_image,
                detach=True,
                name=name,
                hostname=hostname[:63],
                labels=labels,
                host_config=api.create_host_config(network_mode=plan.network, **plan.dns, **extra),
                networking_config=endpoint,
            )
            return str(created["Id"])

        def run(plan: SandboxPlan) -> dict[str, Any]:
            try:
                cid = create(plan)
                api.start(cid)
            except docker.errors.APIError as e:
                # Created but not started (its address was taken): the name must be freed.
                # A name conflict (409) is someone else's container: never removed here.
                if e.status_code != 409:
                    try:
                        api.remove_container(name, force=True)
                    except docker.errors.APIError:
                        pass
                raise
            # The one inspect: Docker picks the address (in docker mode) only at the start.
            try:
                attrs = dict(api.inspect_container(cid))
            except docker.errors.NotFound:
                raise rt.ContainerNotFound(cid) from None
            if plan.attachment is not None:
                try:
                    attach(int(attrs["State"].get("Pid") or 0), cid, plan.ip, plan.attachment)
                except VethError:
                    # A sandbox without its address must not be taken for the pod's.
                    with contextlib.suppress(docker.errors.APIError):
                        api.remove_container(cid, force=True)
                    raise
            return attrs

        what = f"creating the sandbox of pod {pod.namespace}/{pod.name}"
        # Until it is attached, a relist must not take the sandbox for one a crashed
        # kubelet left without its veth.
        self._attaching.add(name)
        try:
            for _ in range(3):
                try:
                    plan = await self.bridge.plan(name, pod.namespace, dns_policy, naming)
                except NetworkError as e:
                    raise rt.RuntimeFailure(str(e)) from None
                try:
                    attrs = await self._call("create_sandbox", run, plan)
                    break
                except docker.errors.NotFound as e:
                    # The bridge was removed under this node (`tug down` of another cluster on
                    # the engine found it empty): make it again, then try once more.
                    self.bridge.release(name, plan.ip)
                    if "network" not in str(e.explanation or e):
                        raise rt.RuntimeFailure(f"{what}: {e}") from None
                    self.bridge.forget()
                except VethError as e:
                    self.bridge.release(name, plan.ip)
                    raise rt.RuntimeFailure(f"{what}: {e}") from None
                except docker.errors.APIError as e:
                    # Held by a container this node does not own: skip the address, try another.
                    taken = bool(plan.ip) and "in use" in str(e.explanation or e)
                    self.bridge.release(name, plan.ip, taken=taken)
                    if runtime_handler and _unknown_runtime(e):
                        raise rt.UnknownRuntimeHandler(runtime_handler) from None
                    if not taken:
                        raise rt.RuntimeFailure(f"{what}: {e}") from None
            else:
                raise rt.RuntimeFailure(f"{what}: no free address")
            info = self._info(attrs)
            # The next relist lists it in this state: it need not be inspected again there.
            self._cache[(info.id, str(attrs.get("State", {}).get("Status", "")))] = info
        finally:
            self._attaching.discard(name)
        return info

    async def image_present(self, image: str) -> bool:
        """Whether the engine has the image. A yes is believed for IMAGE_SEEN_SECONDS:
        thirty pods of one image starting together ask once, not thirty times (an image
        removed meanwhile makes the create fail, and the pod retries)."""
        seen = self._images_seen.get(image)
        if seen is not None and time.monotonic() - seen < IMAGE_SEEN_SECONDS:
            return True

        def check() -> bool:
            try:
                self._client.images.get(image)
                return True
            except docker.errors.ImageNotFound:
                return False

        present = await self._read("image_status", check)
        if present:
            self._images_seen[image] = time.monotonic()
        else:
            self._images_seen.pop(image, None)
        return present

    async def pull_image(self, image: str, auth: rt.RegistryAuth | None = None) -> None:
        """Pull from the image's registry; ImagePullError with the engine's reason."""
        repo, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        credentials = None
        if auth is not None:
            credentials = {
                "username": auth.username,
                "password": auth.password,
                "serveraddress": auth.server,
            }
        try:
            await self._call(
                "pull_image",
                self._client.images.pull,
                repo,
                tag=tag or "latest",
                auth_config=credentials,
            )
        except docker.errors.APIError as e:
            raise rt.ImagePullError(str(e.explanation or e)) from None

    async def start_container(
        self, pod: rt.PodRef, sandbox: rt.ContainerInfo, config: rt.ContainerConfig
    ) -> rt.ContainerInfo:
        """Create and start a container joined to the sandbox's network namespace."""
        api = self._client.api
        # A list of binds, not docker-py's dict by host path: one volume may be
        # mounted at several paths (the docs' recursive read-only example mounts one
        # three times), and a dict kept only the last.
        volumes = [_bind(m) for m in config.mounts]
        host: dict[str, Any] = {
            "network_mode": f"container:{sandbox.id}",
            "privileged": config.privileged,
            "read_only": config.read_only_root,
        }
        if volumes:
            host["binds"] = volumes
        if config.cpu_millis:
            host["nano_cpus"] = config.cpu_millis * 1_000_000
        if config.memory_bytes:
            host["mem_limit"] = config.memory_bytes
        if config.runtime_handler:
            host["runtime"] = config.runtime_handler
        if config.pid_mode:
            # shareProcessNamespace joins the sandbox's PID namespace, as the pause
            # container is PID 1 of a Kubernetes pod that shares one; an ephemeral
            # container with a target joins that container's.
            host["pid_mode"] = {
                "host": "host",
                "sandbox": f"container:{sandbox.id}",
                "target": f"container:{config.pid_target}",
            }[config.pid_mode]
        name = container_name(self.node, pod, config.name, config.attempt)
        kwargs: dict[str, Any] = {
            "detach": True,
            "labels": self._labels(pod, config.name, config.kind, config.attempt),
            "environment": [f"{k}={v}" for k, v in config.env.items()],
            "stdin_open": config.stdin,
            "tty": config.tty,
        }
        if volumes:
            kwargs["volumes"] = [m.container_path for m in config.mounts]
        if config.command:
            kwargs["entrypoint"] = config.command
            kwargs["command"] = config.args
        elif config.args:
            kwargs["command"] = config.args
        if config.working_dir:
            kwargs["working_dir"] = config.working_dir
        if config.run_as_user is not None:
            kwargs["user"] = str(config.run_as_user)

        def create() -> dict[str, Any]:
            host_config = api.create_host_config(**host)
            if not config.stdin_once:
                return dict(
                    api.create_container(config.image, name=name, host_config=host_config, **kwargs)
                )
            # docker-py sets StdinOnce only for a run it attaches to itself: the body is
            # built and StdinOnce set on it (`kubectl debug -i`: stdin closes when the
            # first attach ends, and the shell reading it exits). Unlike create_container,
            # this adds no proxy settings of the Docker CLI to the environment.
            body = api.create_container_config(config.image, host_config=host_config, **kwargs)
            body["StdinOnce"] = True
            created = api.create_container_from_config(body, name)  # type: ignore[no-untyped-call]
            return dict(created)

        def run() -> str:
            cid = str(create()["Id"])
            # Refused to start, it stays "created": the pod worker retries it after the
            # back-off (removing it then), and the status says why meanwhile.
            api.start(cid)
            return cid

        try:
            cid = await self._call("start_container", run)
        except docker.errors.ImageNotFound as e:
            # Gone since it was last seen: the next attempt asks the engine (and pulls).
            self._images_seen.pop(config.image, None)
            raise rt.ImagePullError(str(e.explanation or e)) from None
        except docker.errors.APIError as e:
            raise rt.RuntimeFailure(
                f"starting container {config.name}: {e.explanation or e}"
            ) from None
        # Not inspected: the caller needs only the ID, and the next relist inspects it
        # once, as it does every container whose state changed. What is known already:
        return rt.ContainerInfo(
            id=cid,
            pod=pod,
            name=config.name,
            kind=config.kind,
            attempt=config.attempt,
            image=config.image,
            image_id="",
            state="running",
        )

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL after grace_seconds (Docker's stop does both)."""

        def stop() -> None:
            try:
                self._client.api.stop(container_id, timeout=max(0, round(grace_seconds)))
            except docker.errors.NotFound:
                pass

        await self._call("stop_container", stop)

    async def remove_container(self, container_id: str) -> None:
        """Remove a container (forcibly); gone already is fine."""

        def remove() -> None:
            try:
                self._client.api.remove_container(container_id, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as e:
                # 409: removal already in progress.
                if e.status_code != 409:
                    raise

        await self._call("remove_container", remove)
        for k in [k for k in self._cache if k[0] == container_id]:
            del self._cache[k]

    async def list_containers(self) -> list[rt.ContainerInfo]:
        """Every container labelled with this node, inspected once per state change."""
        rows = await self._read(
            "list_containers",
            self._client.api.containers,
            all=True,
            filters={"label": [f"{rt.LABEL_NODE}={self.node}"]},
        )
        keys = [(str(row["Id"]), str(row.get("State", ""))) for row in rows]
        # A container created but not started yet is all in its list row (no start, exit
        # or address to read): only the others that changed are inspected, side by side,
        # for when thirty pods start at once one relist would otherwise wait for sixty
        # inspects in a row.
        for row in rows:
            key = (str(row["Id"]), str(row.get("State", "")))
            if key[1] == "created" and key not in self._cache:
                self._cache[key] = self._created_info(row)
        changed = [k for k in dict.fromkeys(keys) if k not in self._cache]
        inspected = await asyncio.gather(*(self._inspect_if_there(k[0]) for k in changed))
        for key, info in zip(changed, inspected, strict=True):
            if info is not None:
                self._cache[key] = info
        seen = set(keys)
        for k in [k for k in self._cache if k not in seen]:
            del self._cache[k]
        return [self._cache[k] for k in keys if k in self._cache]

    def _created_info(self, row: dict[str, Any]) -> rt.ContainerInfo:
        """A created, never started container from its `docker ps` row, as inspect shows it."""
        labels = row.get("Labels") or {}
        created = int(row.get("Created") or 0)
        return rt.ContainerInfo(
            id=str(row["Id"]),
            **_identity(labels),
            image=str(row.get("Image", "")),
            image_id=str(row.get("ImageID", "")),
            state="created",
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)) if created else "",
        )

    async def _inspect_if_there(self, container_id: str) -> rt.ContainerInfo | None:
        try:
            return await self.inspect(container_id)
        except rt.ContainerNotFound:
            return None

    async def inspect(self, container_id: str) -> rt.ContainerInfo:
        """The container's state from `docker inspect`."""

        def get() -> dict[str, Any]:
            try:
                return dict(self._client.api.inspect_container(container_id))
            except docker.errors.NotFound:
                raise rt.ContainerNotFound(container_id) from None

        return self._info(await self._read("inspect_container", get))

    def _info(self, attrs: dict[str, Any]) -> rt.ContainerInfo:
        labels = attrs.get("Config", {}).get("Labels") or {}
        st = attrs.get("State", {})
        status = str(st.get("Status", ""))
        state = {"running": "running", "created": "created"}.get(status, "exited")
        if status in ("paused", "restarting"):
            state = "running"
        exit_code = int(st.get("ExitCode", 0))
        reason = ""
        if state == "exited":
            reason = "Completed" if not exit_code else "Error"
            if st.get("OOMKilled"):
                reason = "OOMKilled"
        networks = attrs.get("NetworkSettings", {}).get("Networks") or {}
        ip = str(networks.get(self.bridge.name, {}).get("IPAddress", ""))
        if not ip and state == "running" and POD_IP_LABEL in labels:
            ip = labels[POD_IP_LABEL]  # put on the bridge by veth.py
            name = str(attrs.get("Name", "")).lstrip("/")
            if name not in self._attaching and not attached(str(attrs["Id"])):
                # Started, never attached (its kubelet died in between): a sandbox
                # without its network is dead to the pod, which gets a new one.
                state, reason, ip = "exited", "NetworkNotReady", ""
        identity = _identity(labels)
        # Only a started sandbox's is read (its pod's containers take it): `docker ps` rows
        # carry no HostConfig.Runtime, and a created container must list as it inspects.
        runtime = ""
        if identity["kind"] == "sandbox" and state != "created":
            runtime = str((attrs.get("HostConfig") or {}).get("Runtime") or "")
        return rt.ContainerInfo(
            id=str(attrs["Id"]),
            **identity,
            image=str(attrs.get("Config", {}).get("Image", "")),
            image_id=str(attrs.get("Image", "")),
            state=state,
            exit_code=exit_code,
            created_at=docker_time(str(attrs.get("Created", ""))),
            started_at=docker_time(str(st.get("StartedAt", _ZERO_TIME))),
            finished_at=docker_time(str(st.get("FinishedAt", _ZERO_TIME))),
            reason=reason,
            ip=ip,
            pid=int(st.get("Pid") or 0),
            runtime_handler=runtime,
        )

    def logs(
        self,
        container_id: str,
        *,
        follow: bool,
        tail: int | None,
        timestamps: bool,
        since: float | None = None,
    ) -> AsyncIterator[bytes]:
        """The container's output; with follow, until the container stops or the caller ends."""

        def open_stream() -> Any:
            try:
                return self._client.api.logs(
                    container_id,
                    stream=True,
                    follow=follow,
                    tail="all" if tail is None else tail,
                    timestamps=timestamps,
                    since=int(since) if since is not None else None,
                )
            except docker.errors.NotFound:
                raise rt.ContainerNotFound(container_id) from None

        return self._stream("logs", open_stream, lambda s: iter(s), lambda s: s.close())

    async def _stream(
        self,
        operation: str,
        open_: Callable[[], Any],
        items: Callable[[Any], Iterator[T]],
        close: Callable[[Any], None],
    ) -> AsyncIterator[T]:
        # A long-lived stream gets a thread of its own; closing the stream unblocks it. The
        # runtime's close() closes streams whose consumer went away without closing them
        # (an `async for` that is cancelled while its body runs leaves the generator open).
        handle = await self._call(operation, open_)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def close_once() -> None:
            self._open_streams.discard(close_once)
            try:
                close(handle)
            except Exception:
                pass  # already closed, or closed under the reader

        self._open_streams.add(close_once)

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                pass  # the loop is closed: nobody is reading any more

        def pump() -> None:
            try:
                for item in items(handle):
                    put(item)
            except Exception as e:  # handed to the consumer, which raises it
                put(e)
            finally:
                put(_END)

        threading.Thread(target=pump, name=f"{operation}-stream-{self.node}", daemon=True).start()
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, Exception):
                    if isinstance(item, OSError | ValueError):
                        return  # the stream was closed under the reader
                    raise item
                yield item
        finally:
            close_once()

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> DockerExec:
        """Start a command in the container with a hijacked connection for its streams."""

        def start() -> tuple[str, Any]:
            with _engine_errors(container_id):
                created = self._client.api.exec_create(
                    container_id, command, stdin=stdin, tty=tty, stdout=True, stderr=True
                )
            sock = self._client.api.exec_start(created["Id"], socket=True, tty=tty)
            return str(created["Id"]), sock

        exec_id, sock = await self._call("exec", start)
        return DockerExec(self, exec_id, sock, tty)

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> DockerExec:
        """Attach to the container's process over a hijacked connection (new output only)."""

        def start() -> Any:
            params = {"stdin": int(stdin), "stdout": 1, "stderr": 1, "stream": 1}
            with _engine_errors(container_id):
                return self._client.api.attach_socket(container_id, params=params)

        sock = await self._call("attach", start)
        return DockerExec(self, "", sock, tty, container_id=container_id)

    async def exec_run(
        self, container_id: str, command: list[str], timeout: float
    ) -> rt.ExecResult:
        """Run to completion and collect the output (exec probes)."""

        def run() -> rt.ExecResult:
            with _engine_errors(container_id):
                created = self._client.api.exec_create(container_id, command)
                output = self._client.api.exec_start(created["Id"])
                code = self._client.api.exec_inspect(created["Id"]).get("ExitCode")
            return rt.ExecResult(int(code if code is not None else 126), bytes(output))

        return await within(self._call("exec_run", run), timeout)


class DockerExec:
    """An exec (or attach) session over Docker's hijacked HTTP connection."""

    def __init__(
        self, runtime: DockerRuntime, exec_id: str, sock: Any, tty: bool, container_id: str = ""
    ) -> None:
        self._runtime = runtime
        self._id = exec_id
        self._container = container_id
        self._sock = sock
        self._raw: socket.socket = getattr(sock, "_sock", sock)
        self._tty = tty

    async def write(self, data: bytes) -> None:
        """Send bytes to stdin."""
        await asyncio.to_thread(self._raw.sendall, data)

    async def close_stdin(self) -> None:
        """Half-close the connection: the command sees end of input."""
        try:
            await asyncio.to_thread(self._raw.shutdown, socket.SHUT_WR)
        except OSError:
            pass

    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(1 = stdout | 2 = stderr, bytes) until the command ends."""
        return self._runtime._stream(
            "exec_output",
            lambda: self._sock,
            lambda s: frames_iter(s, self._tty),  # type: ignore[no-untyped-call]
            lambda s: self._shutdown(),
        )

    async def exit_code(self) -> int:
        """Docker may report Running for a moment after the output ended: poll briefly."""
        api = self._runtime._client.api
        if not self._id:
            # Attached: the container's own exit code, once it has stopped.
            for _ in range(50):
                state = (await asyncio.to_thread(api.inspect_container, self._container))["State"]
                if not state.get("Running"):
                    return int(state.get("ExitCode") or 0)
                await asyncio.sleep(0.05)
            return 0
        for _ in range(50):
            info = await asyncio.to_thread(api.exec_inspect, self._id)
            if not info.get("Running"):
                code = info.get("ExitCode")
                return int(code) if code is not None else 126
            await asyncio.sleep(0.05)
        return 126

    def _shutdown(self) -> None:
        # Closing the socket file does not wake a thread blocked reading it; shutdown does.
        try:
            self._raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected any more

    async def close(self) -> None:
        """Close the hijacked connection (ending the output stream's thread)."""
        self._shutdown()
        try:
            self._sock.close()
        except OSError:
            pass
