"""The pod network on a Docker engine: the bridge every pod joins, and each sandbox's
place on it, handed to the runtime as a plan it only carries out.

Pods live on one bridge network the project creates (`tugboat`): the sandbox ("pause")
container owns the pod IP and every app container joins its network namespace.

How a sandbox joins it depends on who chose its address. When the kubelet did (its node's
podCIDR, `pod_cidr_mode="node"`), the sandbox is made with network "none" and veth.py puts
it on the bridge, which costs a pod start far less than a Docker endpoint. Docker then
does not know the address, so the sandbox carries it in a label: that is where a
restarted kubelet, and the check that a bridge is unused, find it. When Docker picks the
address ("docker" mode, or `sandbox_network="docker"`), the sandbox is a Docker endpoint.

The network's subnet is the whole cluster CIDR, shared by every node on the engine, so
pods of different nodes reach each other directly. With `pod_cidr_mode="node"` each
sandbox gets an explicit address from its node's podCIDR (ipam.py); with "docker",
Docker picks one from a small range of the subnet no node is given first. With `host_gw`
(nodes on separate hosts) the subnet is the node's own podCIDR instead, and routes.py
routes the other nodes' podCIDRs (see docs/networking.md).

The bridge is created by the first kubelet that needs it and checked once per podCIDR:
several kubelets of one engine may race to create or replace it, so every step tolerates
finding another's work done.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import docker.errors
import structlog
from docker.types import IPAMConfig, IPAMPool

from client.timeouts import within
from kubelet.network.dns import PodNaming, is_local, sandbox_dns
from kubelet.network.ipam import IPAMError, PodIPAM, docker_range, pod_network
from kubelet.network.veth import Attachment, bridge_present

T = TypeVar("T")
log = structlog.get_logger("kubelet.network.bridge")

NETWORK = "tugboat"
"""The bridge network every pod joins; created by the first kubelet that needs it."""
CLUSTER_DNS = "172.30.255.10"
"""The cluster DNS address the service proxy serves (see kubelet/network/dns.py)."""
CLUSTER_CIDR = "172.30.0.0/16"
"""Pod addresses of the whole cluster: the controller manager's --cluster-cidr."""
SERVICE_RANGE = "172.30.255.0/24"
"""ClusterIPs: never a pod address (the API server's --service-cluster-ip-range)."""
POD_CIDR_MODES = ("node", "docker")
SANDBOX_NETWORKS = ("veth", "docker")
NETWORK_LABEL = "io.tugboat.network"
POD_IP_LABEL = "io.tugboat.pod-ip"
"""On a sandbox put on the bridge by veth: its address, which Docker does not know."""
POD_NETWORK_LABEL = "io.tugboat.pod-network"
"""On a sandbox put on the bridge by veth: the pod network's name."""
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"

Call = Callable[[str, Callable[[], Any]], Awaitable[Any]]
"""How a blocking Docker call runs: the runtime's own thread pool, timed by operation."""


class NetworkError(Exception):
    """The pod network cannot give a sandbox a place (no podCIDR, no free address)."""


@dataclass(frozen=True)
class SandboxPlan:
    """Where a sandbox joins the pod network: what the runtime passes to Docker."""

    network: str
    """Docker's network mode: the pod network, or "none" when `attachment` is set."""
    ip: str
    """The address to ask for; "" lets Docker pick one."""
    dns: dict[str, Any]
    """Docker's dns, dns_search and dns_opt arguments (empty: Docker's own resolver)."""
    attachment: Attachment | None = None
    """Where veth.attach puts the started sandbox; None: Docker attaches it."""


@dataclass(frozen=True)
class BridgeSettings:
    """The pod network of one node, from the kubelet's flags."""

    network: str = NETWORK
    cluster_dns: str = CLUSTER_DNS
    cluster_domain: str = "cluster.local"
    pod_cidr_mode: str = "docker"
    sandbox_network: str = "veth"
    """With pod_cidr_mode "node": veth (the kubelet plumbs the sandbox) or docker (a
    Docker endpoint with the chosen address). Docker mode always uses an endpoint."""
    cluster_cidr: str = CLUSTER_CIDR
    service_range: str = SERVICE_RANGE
    host_gw: bool = False
    pod_cidr_wait: float = 5.0
    """How long a sandbox waits for the node's podCIDR before failing (and retrying)."""
    cluster_dns_wait: float = 0.0
    """For this long after the kubelet starts, a ClusterFirst sandbox is not made while the
    cluster DNS address is not yet on this host (its proxy is starting): made then, it
    would keep Docker's resolver for life. 0: never wait (no proxy runs here)."""

    def __post_init__(self) -> None:
        if self.pod_cidr_mode not in POD_CIDR_MODES:
            raise ValueError(
                f"pod_cidr_mode: {self.pod_cidr_mode!r} is not one of {POD_CIDR_MODES}"
            )
        if self.sandbox_network not in SANDBOX_NETWORKS:
            raise ValueError(
                f"sandbox_network: {self.sandbox_network!r} is not one of {SANDBOX_NETWORKS}"
            )
        if self.host_gw and self.pod_cidr_mode != "node":
            raise ValueError('host_gw needs pod_cidr_mode="node": the bridge is the podCIDR')


class DockerBridge:
    """The pod network of one node on its engine."""

    def __init__(
        self,
        client: Any,
        call: Call,
        node: str,
        settings: BridgeSettings,
        sandbox_filter: dict[str, list[str]],
    ) -> None:
        self._client = client
        self._call = call
        self.node = node
        self.settings = settings
        self._sandbox_filter = sandbox_filter
        """Docker's filter for this node's sandboxes (their addresses are in use)."""
        self.pod_network = pod_network(settings.cluster_cidr, settings.service_range)
        """The shared bridge's subnet: the cluster CIDR without the service range."""
        self.pod_cidr = ""
        self._pod_cidr_error = ""
        self._pod_cidr_known = asyncio.Event()
        self._ipam: PodIPAM | None = None
        self._ipam_lock = asyncio.Lock()
        self._ready = False
        self._device = ""
        """The Linux bridge of the pod network, as Docker made it."""
        self._lock = asyncio.Lock()
        self._started = time.monotonic()

    @property
    def name(self) -> str:
        return self.settings.network

    @property
    def by_veth(self) -> bool:
        """Whether sandboxes are put on the bridge by veth.py (the kubelet chose the IP)."""
        s = self.settings
        return s.pod_cidr_mode == "node" and s.sandbox_network == "veth"

    def set_pod_cidr(self, cidr: str) -> None:
        """The node's spec.podCIDR: sandboxes get their addresses from it from now on."""
        log.info("pod network", node=self.node, pod_cidr=cidr)
        try:
            ipam = PodIPAM(cidr)
        except IPAMError as e:
            self._pod_cidr_error = f"node {self.node}: {e}"
            return
        if not ipam.network.subnet_of(ipaddress.IPv4Network(self.pod_network)):
            self._pod_cidr_error = (
                f"node {self.node}: spec.podCIDR {cidr} is outside the pod network "
                f"{self.pod_network} (--cluster-cidr {self.settings.cluster_cidr} without the "
                f"service range {self.settings.service_range})"
            )
            return
        if self.settings.host_gw and self.pod_cidr and cidr != self.pod_cidr:
            self._ready = False  # the bridge must be rebuilt for the new range
        self.pod_cidr, self._pod_cidr_error, self._ipam = cidr, "", ipam
        self._pod_cidr_known.set()

    async def plan(
        self, sandbox: str, namespace: str, dns_policy: str = "", naming: PodNaming | None = None
    ) -> SandboxPlan:
        """The network, address and resolver of the sandbox container named `sandbox`."""
        if self.settings.pod_cidr_mode == "node":
            await self._pod_ipam()  # the network may be the podCIDR itself (host-gw)
        await self.ensure()
        self._check_cluster_dns(dns_policy)
        dns = sandbox_dns(
            namespace, self.settings.cluster_dns, self.settings.cluster_domain, dns_policy, naming
        )
        ip = await self._address(sandbox)
        if not self.by_veth:
            return SandboxPlan(self.name, ip, dns)
        if not bridge_present(self._device):
            # Removed under this node (`tug down` of another cluster found it unused).
            self.forget()
            await self.ensure()
        subnet, gateway, _ = self._subnet()
        prefix = ipaddress.ip_network(subnet).prefixlen
        return SandboxPlan("none", ip, dns, Attachment(self._device, prefix, gateway))

    def _check_cluster_dns(self, dns_policy: str) -> None:
        """NetworkError (the sandbox is retried) while the node's proxy has not yet put
        the cluster DNS address on this host, within cluster_dns_wait of the start."""
        cluster_dns = self.settings.cluster_dns
        if dns_policy == "Default" or not cluster_dns or is_local(cluster_dns):
            return
        if time.monotonic() - self._started < self.settings.cluster_dns_wait:
            raise NetworkError(
                f"node {self.node}: the cluster DNS address {cluster_dns} is not on this "
                "host yet (the node's proxy puts it there): the pod waits for it"
            )

    def release(self, sandbox: str, ip: str = "", *, taken: bool = False) -> None:
        """The sandbox was not created: free its address; `taken` if something this node
        does not own holds the address (it is skipped from now on)."""
        if self._ipam is None:
            return
        self._ipam.release(sandbox)
        if taken and ip:
            self._ipam.taken_elsewhere(ip)

    async def _pod_ipam(self) -> PodIPAM:
        if self._ipam is None and not self._pod_cidr_error:
            try:
                await within(self._pod_cidr_known.wait(), self.settings.pod_cidr_wait)
            except TimeoutError:
                pass
        if self._ipam is None:
            raise NetworkError(
                self._pod_cidr_error
                or f"node {self.node} has no spec.podCIDR yet: node IPAM in the controller "
                "manager gives it one (or run the kubelet with --pod-cidr-mode docker)"
            )
        return self._ipam

    def _subnet(self) -> tuple[str, str, str | None]:
        """The subnet, gateway and Docker's own allocation range of the pod network."""
        subnet = self.pod_cidr if self.settings.host_gw else self.pod_network
        net = ipaddress.ip_network(subnet, strict=True)
        gateway = str(net.network_address + 1)
        if self.settings.host_gw:
            return subnet, gateway, None
        return subnet, gateway, docker_range(subnet)

    def forget(self) -> None:
        """The bridge is gone (a sandbox's create said so): the next plan makes it again."""
        log.warning("pod bridge missing, making it again", node=self.node, key=self.name)
        self._ready = False

    async def ensure(self) -> None:
        """Create the bridge, or replace an idle one with another subnet."""
        if self._ready:
            return
        async with self._lock:
            if self._ready:
                return
            subnet, gateway, ip_range = self._subnet()
            self._device = await self._call(
                "ensure_network", lambda: self._ensure(subnet, gateway, ip_range)
            )
            self._ready = True

    def _ensure(self, subnet: str, gateway: str, ip_range: str | None) -> str:
        """The bridge device of the pod network, made or replaced as needed."""
        failure = ""
        logger = log.bind(node=self.node, network=self.name)
        # Bounded: another kubelet may be creating or replacing it at the same time.
        for _ in range(3):
            found = [
                n for n in self._client.networks.list(names=[self.name]) if n.name == self.name
            ]
            if not found:
                pool = IPAMPool(subnet=subnet, gateway=gateway, iprange=ip_range)
                try:
                    self._client.networks.create(
                        self.name,
                        driver="bridge",
                        check_duplicate=True,
                        ipam=IPAMConfig(pool_configs=[pool]),
                        labels={NETWORK_LABEL: "pods"},
                    )
                except docker.errors.APIError as e:
                    # Another kubelet creating it at the same moment gets 409, or 403
                    # "Pool overlaps": the next look finds it.
                    failure = str(e.explanation or e)
                continue
            net_id = str(found[0].id)
            net = self._client.api.inspect_network(net_id)
            subnets = [c.get("Subnet") for c in (net.get("IPAM") or {}).get("Config") or []]
            if subnet in subnets:
                return bridge_device(net)
            in_use = in_use_by(self._client, self.name, net)
            if in_use and self.settings.pod_cidr_mode == "docker":
                # Docker picks the addresses anyway: an older network still in use serves
                # until it is idle and a node-mode kubelet replaces it.
                logger.warning(
                    "pod network has another subnet and is in use; using it as is",
                    subnet=subnets,
                    wanted=subnet,
                )
                return bridge_device(net)
            if in_use:
                raise NetworkError(
                    f"Docker network {self.name} has subnet "
                    f"{', '.join(map(str, subnets)) or 'none'}, not the pod network "
                    f"{subnet}, and containers are attached to it: remove them "
                    f"(tug down, or docker rm -f) and the kubelet recreates it"
                )
            logger.info("recreating the pod network", old=subnets, subnet=subnet)
            try:
                self._client.api.remove_network(net_id)
            except docker.errors.NotFound:
                pass
        raise NetworkError(
            f"creating Docker network {self.name} ({subnet}): {failure or 'it keeps changing'}"
        )

    def _sandbox_addresses(self) -> dict[str, str]:
        """ip -> container name of this node's sandboxes on the pod network, and of every
        Docker endpoint on it (which a veth sandbox's address must not collide with)."""
        out: dict[str, str] = {}
        if self.by_veth:
            try:
                net = self._client.api.inspect_network(self.name)
            except docker.errors.NotFound:
                net = {}
            for endpoint in (net.get("Containers") or {}).values():
                ip = str(endpoint.get("IPv4Address") or "").partition("/")[0]
                if ip:
                    out[ip] = str(endpoint.get("Name") or "<unknown>")
        rows = self._client.api.containers(all=True, filters=self._sandbox_filter)
        for row in rows:
            nets = (row.get("NetworkSettings") or {}).get("Networks") or {}
            mine = nets.get(self.name) or {}
            held = (
                (row.get("Labels") or {}).get(POD_IP_LABEL)
                or (mine.get("IPAMConfig") or {}).get("IPv4Address")
                or mine.get("IPAddress")
            )
            names = row.get("Names") or [""]
            if held:
                out[str(held)] = str(names[0]).lstrip("/")
        return out

    async def _address(self, sandbox: str) -> str:
        """An address for the sandbox from the node's podCIDR ("" in docker mode)."""
        if self.settings.pod_cidr_mode != "node":
            return ""
        ipam = await self._pod_ipam()
        async with self._ipam_lock:
            ipam.observe(await self._call("list_sandboxes", self._sandbox_addresses))
            try:
                return ipam.allocate(sandbox)
            except IPAMError as e:
                raise NetworkError(f"node {self.node}: {e}") from None


def bridge_device(net: dict[str, Any]) -> str:
    """The Linux bridge of a Docker bridge network, from its inspect document."""
    named = str((net.get("Options") or {}).get(BRIDGE_NAME_OPTION) or "")
    return named or f"br-{str(net['Id'])[:12]}"


def in_use_by(client: Any, name: str, net: dict[str, Any]) -> int:
    """How many running containers are on network `name`: its Docker endpoints, and the
    sandboxes veth.py put on its bridge, which Docker does not count. Blocking."""
    endpoints = len(net.get("Containers") or {})
    veths = client.api.containers(filters={"label": f"{POD_NETWORK_LABEL}={name}"})
    return endpoints + len(veths)


def remove_if_unused(name: str = NETWORK) -> bool:
    """Remove the pod bridge `name` if it carries the kubelet's label and no container
    is on it; whether it was removed. Blocking (call it in a thread).

    `tug down` calls this once its nodes' containers are gone: a node keeps its bridge
    between pods, so nothing else would. Nodes of one engine are removed in parallel, so
    a bridge another node still uses, or one already gone, is left quietly; so is a
    network of that name the kubelet did not make."""
    try:
        client = docker.from_env()
    except docker.errors.DockerException:
        return False  # no engine: nothing of ours can be on it
    try:
        # Docker's name filter matches every name that contains `name` (tugboat-pn-…):
        # only the exact name is the bridge, and another network vanishing in the
        # meantime must not stop the look at it.
        rows = client.api.networks(names=[name])
        found = [str(row["Id"]) for row in rows if row.get("Name") == name]
        # Two kubelets racing to create the bridge may have left two of that name.
        removed = [_remove_one(client, name, net_id) for net_id in found]
        return any(removed)
    except docker.errors.DockerException as e:
        # The containers are gone, which is what the caller is for: an engine that
        # will not list its networks leaves the bridge to the next `tug down`.
        log.warning("pod bridge not looked at", key=name, error=str(e))
        return False
    finally:
        client.close()


def _remove_one(client: Any, name: str, net_id: str) -> bool:
    """Remove network `net_id` (named `name`) if it is the kubelet's and empty; whether
    it was. Losing a race to another node's removal or a new sandbox is not an error."""
    logger = log.bind(key=name, network_id=net_id[:12])
    try:
        net = client.api.inspect_network(net_id)
        if (net.get("Labels") or {}).get(NETWORK_LABEL) != "pods":
            logger.debug("not the kubelet's network: left")
            return False
        in_use = in_use_by(client, name, net)
        if in_use:
            logger.debug("pod bridge still in use: left", containers=in_use)
            return False
        client.api.remove_network(net_id)
    except docker.errors.NotFound:
        logger.debug("pod bridge already removed")  # by another node's removal
        return False
    except docker.errors.APIError as e:
        # A container joined between the look and the removal: Docker refuses (403,
        # active endpoints), and that node's removal or kubelet owns it now.
        logger.debug("pod bridge not removed", error=str(e.explanation or e))
        return False
    logger.info("removed the pod bridge")
    return True
