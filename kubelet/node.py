"""The Node object and its heartbeat: registration, status, and the node Lease.

Two heartbeats, as in Kubernetes: the Lease in `kube-node-lease` is renewed every lease
period (cheap, frequent), while the Node's status is written only when it changed or,
at the latest, every `status_max_age` seconds (Kubernetes' nodeStatusReportFrequency,
5 minutes: the Lease already says the node lives).

Every status check re-reads the Node, to see what the node lifecycle controller wrote.
Simulated nodes of one process read it from a Node informer they share, which costs the
API server one watch instead of a GET per node every check; a real node makes the GET,
at resourceVersion 0, which the watch cache answers.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from client.api import ApiClient
from client.errors import AlreadyExists, ApiError, Conflict, NotFound
from client.informer import Informer
from client.timestamps import now, now_micro
from kubelet.runtime.interface import VersionInfo
from proto import core_pb2, meta_pb2, workloads_pb2

log = structlog.get_logger("kubelet.node")

LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = "tugboat-v0.1.0"
LEASE_UPDATE_ATTEMPTS = 5
"""Renewals sent in one round while each loses to a newer Lease (Kubernetes'
maxUpdateRetries); each loss is followed by a read of the newest."""


def cpu_text(millis: int) -> str:
    """A CPU quantity as Kubernetes prints it: whole cores, else millicores."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


@dataclass(frozen=True)
class NodeSettings:
    """What the node reports about itself."""

    name: str
    address: str
    port: int
    max_pods: int = 110
    lease_period: float = 2.0
    """Seconds between Lease renewals."""
    lease_duration: int = 40
    """The Lease's leaseDurationSeconds: how long others wait before calling the node dead."""
    status_check_period: float = 10.0
    """Seconds between looks at whether the Node status changed."""
    status_max_age: float = 300.0
    """A Node status unchanged for this long is written anyway."""
    hostname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    """Labels the Node carries besides the well-known ones (--node-labels)."""
    taints: tuple[core_pb2.Taint, ...] = ()
    """Taints the Node is registered with (--register-with-taints); as in Kubernetes they
    are set only when the Node is created, so taints changed later by users stay."""


KUBELET_RESOURCES = frozenset({"cpu", "memory", "pods"})
"""The resources the kubelet measures and writes itself; any other key of a Node's
capacity is kept as it stands."""


class NodeHeartbeat:
    """Registers the Node, then keeps its Lease and status fresh."""

    def __init__(
        self,
        api: ApiClient,
        settings: NodeSettings,
        machine: VersionInfo,
        on_renewed: Callable[[float], None] | None = None,
        nodes: Informer[core_pb2.Node] | None = None,
    ) -> None:
        self.api = api
        self.nodes = nodes
        """The Nodes, shared by the simulated nodes of this process; None: read by GET."""
        self.s = settings
        self.machine = machine
        self.on_renewed = on_renewed
        """Told the (monotonic) start of every successful renewal: the self-fencing clock."""
        self.log = log.bind(node=settings.name)
        self._lease: workloads_pb2.Lease | None = None
        self._node: core_pb2.Node | None = None
        self._status_written_at = 0.0
        self._renewed_at: float | None = None
        self._recheck_until = 0.0
        self._fresh_node = False
        """Whether this kubelet created its Node and has not yet looked for its Lease."""
        self.renewals = 0
        self.registered = asyncio.Event()
        """Set once the Node is created or adopted and its first status written."""

    def desired_node(self) -> core_pb2.Node:
        """The Node's metadata and spec this kubelet asserts."""
        node = core_pb2.Node(api_version="v1", kind="Node")
        node.metadata.name = self.s.name
        node.metadata.labels["kubernetes.io/hostname"] = self.s.name
        node.metadata.labels["kubernetes.io/os"] = self.machine.os or "linux"
        if self.machine.architecture:
            node.metadata.labels["kubernetes.io/arch"] = _arch(self.machine.architecture)
        node.metadata.labels.update(self.s.labels)
        return node

    def desired_status(self, old: core_pb2.NodeStatus | None) -> core_pb2.NodeStatus:
        """Capacity, addresses, nodeInfo, daemon endpoint and the Ready condition."""
        m = self.machine
        st = core_pb2.NodeStatus()
        if old is not None:
            # Resources someone else advertised (an extended resource PATCHed onto the
            # status, as Kubernetes' docs show for a dongle) stay, and are allocatable
            # as offered: Kubernetes' kubelet edits capacity in place and derives
            # allocatable from every key of it.
            for name, quantity in old.capacity.items():
                if name not in KUBELET_RESOURCES:
                    st.capacity[name] = quantity
                    st.allocatable[name] = quantity
        for target in (st.capacity, st.allocatable):
            target["cpu"] = cpu_text(m.cpu_millis)
            target["memory"] = f"{m.memory_bytes // 1024}Ki"
            target["pods"] = str(self.s.max_pods)
        st.addresses.add(type="InternalIP", address=self.s.address)
        st.addresses.add(type="Hostname", address=self.s.hostname or self.s.name)
        info = st.node_info
        info.kernel_version = m.kernel_version
        info.os_image = m.os_image
        info.container_runtime_version = m.runtime_version
        info.kubelet_version = KUBELET_VERSION
        info.operating_system = m.os
        info.architecture = _arch(m.architecture)
        st.daemon_endpoints.kubelet_endpoint.port = self.s.port
        prior = {c.type: c for c in old.conditions} if old is not None else {}
        ready = prior.get("Ready")
        stamp = now()
        cond = meta_pb2.Condition(
            type="Ready",
            status="True",
            reason="KubeletReady",
            message="kubelet is posting ready status",
            last_heartbeat_time=ready.last_heartbeat_time if ready else stamp,
            last_transition_time=(
                ready.last_transition_time if ready and ready.status == "True" else stamp
            ),
        )
        st.conditions.append(cond)
        return st

    async def register(self) -> None:
        """Create the Node, or adopt an existing one and bring its labels up to date."""
        desired = self.desired_node()
        registering = core_pb2.Node()
        registering.CopyFrom(desired)
        registering.spec.taints.extend(self.s.taints)
        # With its status, as Kubernetes' kubelet builds its initial Node: the API server
        # keeps a Node's status on create, so joining is one write, not two.
        registering.status.CopyFrom(self.desired_status(None))
        try:
            created = await self.api.create(registering)
        except AlreadyExists:
            # The newest: the cache may not have heard of the Node yet, or hold an old one.
            got = await self.api.get("nodes", "", self.s.name)
            assert isinstance(got, core_pb2.Node)
            if any(got.metadata.labels.get(k) != v for k, v in desired.metadata.labels.items()):
                got.metadata.labels.update(desired.metadata.labels)
                got = await self.api.update(got)
            self._node = got
            self.log.info("node already registered, adopted")
            await self.write_status(force=True)
        else:
            self._node = created
            self._status_written_at = time.monotonic()
            self._fresh_node = True
            self.log.info("node registered")
        self.registered.set()

    async def write_status(self, *, force: bool = False, refresh: bool = False) -> bool:
        """Write the Node status if it changed or is older than status_max_age; True if written.

        With `refresh`, the Node is read from the API first rather than trusted from the
        last write: the node lifecycle controller may have set Ready=Unknown meanwhile.
        """
        if refresh and self._node is not None and not self._refresh_from_informer(self._node):
            try:
                # At resourceVersion 0, as Kubernetes' kubelet: the API server's watch cache
                # answers, so a thousand nodes' heartbeats cost etcd no read. A cache behind
                # by a write only costs a Conflict, after which the read is the newest.
                got = await self.api.get("nodes", "", self.s.name, resource_version="0")
            except NotFound:
                pass  # the update below finds it gone and registers again
            else:
                assert isinstance(got, core_pb2.Node)
                self._node = got
        node = self._node
        if node is None:
            return False
        desired = self.desired_status(node.status)
        stale = time.monotonic() - self._status_written_at >= self.s.status_max_age
        if desired == node.status and not stale and not force:
            return False
        for cond in desired.conditions:
            cond.last_heartbeat_time = now()
        update = core_pb2.Node()
        update.CopyFrom(node)
        update.status.CopyFrom(desired)
        try:
            self._node = await self.api.update_status(update)
        except Conflict:
            # The newest (etcd), never the cache: a cached read may be the very version
            # that just lost, and the retry would lose again.
            got = await self.api.get("nodes", "", self.s.name)
            assert isinstance(got, core_pb2.Node)
            self._node = got
            return await self.write_status(force=True)
        except NotFound:
            self.log.warning("node object deleted, registering again")
            self._node = None
            await self.register()
            return True
        self._status_written_at = time.monotonic()
        return True

    def _refresh_from_informer(self, mine: core_pb2.Node) -> bool:
        """Take the shared informer's Node if it is at least as new as ours; False when
        there is no informer or it has not seen this Node yet (then a GET reads it)."""
        if self.nodes is None or not self.nodes.has_synced():
            return False
        seen = self.nodes.get(self.s.name)
        if seen is None:
            return False
        # Behind our own last write, the informer's copy would only lose a Conflict.
        if _revision(seen) >= _revision(mine):
            self._node = seen
        return True

    def lease_version(self) -> str:
        """The resourceVersion of the Lease as last renewed ("": not known)."""
        return self._lease.metadata.resource_version if self._lease is not None else ""

    async def renew_lease(self) -> None:
        """Create or renew the node Lease (holderIdentity = node name).

        A Conflict means our copy is behind, most often because an earlier attempt that
        timed out did land (the client retries an Update that timed out). As Kubernetes'
        lease controller does (retryUpdateLease), the newest Lease is read and the renewal
        sent again at once: waiting for the next period would leave the Lease a whole
        period older, on a node whose renewals are late already.
        """
        for attempt in range(1, LEASE_UPDATE_ATTEMPTS + 1):
            lease = self._lease
            if lease is None:
                lease = await self._get_or_create_lease()
            update = workloads_pb2.Lease()
            update.CopyFrom(lease)
            update.spec.holder_identity = self.s.name
            update.spec.lease_duration_seconds = self.s.lease_duration
            update.spec.renew_time = now_micro()
            try:
                self._lease = await self.api.update(update)
            except Conflict:
                self._lease = None
                if attempt == LEASE_UPDATE_ATTEMPTS:
                    raise
                continue
            except NotFound:
                self._lease = None
                raise
            self.renewals += 1
            return

    def _renewed(self, started: float) -> None:
        if self.on_renewed is not None:
            self.on_renewed(started)
        previous, self._renewed_at = self._renewed_at, started
        if previous is not None and started - previous > 2 * self.s.lease_period:
            # Renewals stopped for a while (a pause, a partition): the controller may have
            # set Ready=Unknown, perhaps even just after this renewal, so re-read the Node
            # and post Ready again at every renewal for a few periods.
            self.log.info("lease renewed after a gap", seconds=round(started - previous, 1))
            self._recheck_until = time.monotonic() + 5 * self.s.lease_period

    async def _get_or_create_lease(self) -> workloads_pb2.Lease:
        """The node's Lease: read, or created when there is none.

        A Node this kubelet has just created has no Lease unless an old one outlived its
        Node, so its first Lease is created without the read, which would answer NotFound:
        one request fewer per joining node, when thousands join at once. A Lease that
        exists after all is read on AlreadyExists."""
        if not self._fresh_node:
            try:
                got = await self.api.get("leases", LEASE_NAMESPACE, self.s.name)
                assert isinstance(got, workloads_pb2.Lease)
                return got
            except NotFound:
                pass
        self._fresh_node = False
        lease = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
        lease.metadata.name = self.s.name
        lease.metadata.namespace = LEASE_NAMESPACE
        lease.spec.holder_identity = self.s.name
        lease.spec.lease_duration_seconds = self.s.lease_duration
        lease.spec.renew_time = now_micro()
        if self._node is not None and self._node.metadata.uid:
            lease.metadata.owner_references.add(
                api_version="v1", kind="Node", name=self.s.name, uid=self._node.metadata.uid
            )
        for _ in range(2):
            try:
                return await self.api.create(lease)
            except AlreadyExists:
                got = await self.api.get("leases", LEASE_NAMESPACE, self.s.name)
                assert isinstance(got, workloads_pb2.Lease)
                return got
            except NotFound:
                await self._create_lease_namespace()
        return await self.api.create(lease)

    async def _create_lease_namespace(self) -> None:
        ns = core_pb2.Namespace(api_version="v1", kind="Namespace")
        ns.metadata.name = LEASE_NAMESPACE
        try:
            await self.api.create(ns)
        except AlreadyExists:
            pass

    async def run(self) -> None:
        """Register, then renew the lease every period and check the status, until cancelled."""
        retry = 0.5
        while self._node is None:
            try:
                await self.register()
            except ApiError as e:
                self.log.warning("node registration failed", error=str(e), retry_seconds=retry)
                await asyncio.sleep(retry)
                retry = min(retry * 2, 10.0)
        next_status = time.monotonic() + self.s.status_check_period
        while True:
            started = time.monotonic()
            try:
                await self.renew_lease()
            except ApiError as e:
                self.log.warning("lease renewal failed", error=str(e))
            else:
                self._renewed(started)
            now = time.monotonic()
            if now >= next_status or now < self._recheck_until:
                next_status = now + self.s.status_check_period
                try:
                    await self.write_status(refresh=True)
                except ApiError as e:
                    self.log.warning("node status update failed", error=str(e))
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, self.s.lease_period - elapsed))


def _revision(node: core_pb2.Node) -> int:
    version = node.metadata.resource_version
    return int(version) if version.isdigit() else 0


def _arch(arch: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch)


def default_hostname() -> str:
    """This machine's host name."""
    return socket.gethostname()
