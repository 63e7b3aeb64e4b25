"""`tug-kubelet`: run one node (or N simulated ones) until SIGTERM or SIGINT.

    tug-kubelet --node-name n1 --address 127.0.0.2 --server 127.0.0.1:6443
    tug-kubelet --node-name sim --address 127.0.0.9 --server ... --runtime fake --simulate 200
    tug-kubelet ... --host-gw          # nodes on separate hosts: route the other podCIDRs

Stopping leaves the containers running: the next kubelet of the node adopts them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import REGISTRY

from client.api import ApiClient, ClientOptions
from client.flags import endpoint_list, from_flags, positive_seconds, seconds
from client.informer import Informer
from client.logs import configure_logging
from client.names import is_qualified_name, is_valid_label_value
from client.statusserver import StatusServer, metrics_route
from client.tls import (
    ClientCredentials,
    ServerTls,
    add_client_flags,
    add_server_flags,
    client_credentials,
    server_tls,
)
from client.tokens import read_token
from kubelet import agent
from kubelet.fencing import FenceSettings
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.network.ipam import IPAMError, pod_network
from kubelet.network.podnetwork import NetworkSettings, PodNetwork
from kubelet.network.routes import RouteTable
from kubelet.pods.context import PodSettings
from kubelet.runtime.interface import ContainerRuntime
from kubelet.stats.cadvisor import cadvisor_registry
from proto import core_pb2

log = structlog.get_logger("kubelet")


@dataclass(frozen=True)
class Options:
    """The command line, checked."""

    node_name: str
    address: str
    servers: list[str]
    root_dir: Path
    port: int
    http_port: int | None
    lease_period: float
    runtime: str
    simulate: int
    fake_start_delay: float
    pods: PodSettings
    log_level: str
    remove_containers: bool = False
    stats_period: float = 10.0
    token: str = field(default="", repr=False)
    """The node's bearer token (--token-file), as `system:node:<name>`."""
    tls: ClientCredentials | None = field(default=None, repr=False)
    """The cluster CA and the node's certificate, `system:node:<name>` in `system:nodes`."""
    serving: ServerTls | None = field(default=None, repr=False)
    """The node agent's serving certificate and the CA its callers' must chain to."""
    cluster_ca: bytes = field(default=b"", repr=False)
    """Mounted into pods as their ServiceAccount's ca.crt (--cluster-ca-file)."""
    fencing: FenceSettings = field(default_factory=FenceSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    node_labels: dict[str, str] = field(default_factory=dict)
    register_with_taints: tuple[core_pb2.Taint, ...] = ()


def _default_root(node: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tugboat" / f"kubelet-{node}"


_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def node_labels(text: str) -> dict[str, str]:
    """`--node-labels`: `key=value[,key=value...]`, each a valid label."""
    labels: dict[str, str] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        key, sep, value = item.partition("=")
        problems = [*is_qualified_name(key), *is_valid_label_value(value)] if sep else []
        if not sep or problems:
            why = "; ".join(problems) or "expected key=value"
            raise argparse.ArgumentTypeError(f"--node-labels: {item!r}: {why}")
        labels[key] = value
    return labels


def node_taints(text: str) -> tuple[core_pb2.Taint, ...]:
    """`--register-with-taints`: `key[=value]:Effect[,...]`, as the kubelet takes them."""
    taints = []
    for item in (i.strip() for i in text.split(",") if i.strip()):
        pair, sep, effect = item.rpartition(":")
        key, _, value = pair.partition("=")
        problems = [*is_qualified_name(key), *is_valid_label_value(value)] if sep else []
        if not sep or effect not in _EFFECTS or problems:
            why = "; ".join(problems) or f"expected key[=value]:Effect, Effect one of {_EFFECTS}"
            raise argparse.ArgumentTypeError(f"--register-with-taints: {item!r}: {why}")
        taints.append(core_pb2.Taint(key=key, value=value, effect=effect))
    return tuple(taints)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """The options named on the command line; argparse errors name the flag."""
    p = argparse.ArgumentParser(prog="tug-kubelet", description="The Tugboat node agent.")
    p.add_argument("--node-name", required=True)
    p.add_argument("--address", default="", help="the node's IP (InternalIP, agent address)")
    p.add_argument(
        "--server", type=endpoint_list("--server"), default=[], help="API servers host:port,..."
    )
    p.add_argument(
        "--token-file", default="", help="a file holding this node's token (system:node:NAME)"
    )
    add_client_flags(p)
    add_server_flags(p)
    p.add_argument(
        "--cluster-ca-file", default="",
        help="the cluster CA (PEM), mounted into pods as their ServiceAccount's ca.crt",
    )  # fmt: skip
    p.add_argument("--root-dir", type=Path, default=None, help="volumes and pod files")
    p.add_argument("--port", type=int, default=10250, help="node-agent gRPC port")
    p.add_argument(
        "--http-port",
        type=int,
        default=None,
        help="port of /healthz, /metrics and /metrics/cadvisor (default: none)",
    )
    p.add_argument(
        "--stats-period",
        type=seconds,
        default=10.0,
        help="seconds between two samples of container usage, as cAdvisor's housekeeping "
        "interval (0: none, and no tug top)",
    )
    p.add_argument(
        "--lease-period",
        type=positive_seconds,
        default=2.0,
        help="lease renewal, seconds",
    )
    p.add_argument("--runtime", choices=["docker", "fake"], default="docker")
    p.add_argument("--simulate", type=int, default=1, help="simulated nodes (fake runtime)")
    p.add_argument("--fake-start-delay", type=seconds, default=0.5, help="fake container start")
    p.add_argument("--crash-backoff", type=positive_seconds, default=10.0, help="1st restart wait")
    p.add_argument("--crash-backoff-max", type=positive_seconds, default=300.0)
    p.add_argument("--image-backoff", type=positive_seconds, default=10.0, help="1st pull retry")
    p.add_argument("--resync-period", type=positive_seconds, default=10.0)
    p.add_argument(
        "--node-fence-grace-period",
        type=seconds,
        default=8.0,
        help="stop this node's pods when the lease went unrenewed this long (0: never)",
    )
    p.add_argument(
        "--reconnect-kill-after",
        type=seconds,
        default=None,
        help="unrenewed this long counts as disconnected: on reconnecting, kill the "
        "containers of pods no longer bound here before starting anything "
        "(default: 4 s or 2 lease periods; 0: only after a fence)",
    )
    p.add_argument(
        "--pod-cidr-mode",
        choices=["node", "docker"],
        default="node",
        help="node: pod IPs from the Node's spec.podCIDR (pods wait until node IPAM gives "
        "one); docker: Docker picks them (no controller manager needed)",
    )
    p.add_argument(
        "--sandbox-network",
        choices=["veth", "docker"],
        default="veth",
        help="with --pod-cidr-mode node, how a sandbox joins the pod bridge: veth (the "
        "kubelet adds a veth pair, which starts pods faster; needs root on the engine's "
        "host) or docker (a Docker endpoint with the chosen address)",
    )
    p.add_argument("--cluster-cidr", default="172.30.0.0/16", help="as the controller manager's")
    p.add_argument(
        "--service-cluster-ip-range", default="172.30.255.0/24", help="as the API server's"
    )
    p.add_argument(
        "--host-gw",
        action="store_true",
        help="nodes on separate hosts: the pod bridge is the node's podCIDR, and the other "
        "nodes' podCIDRs are routed via their InternalIPs (needs root)",
    )
    p.add_argument(
        "--cluster-dns-wait",
        type=float,
        default=0.0,
        help="seconds after start during which pods wait for the cluster DNS address to be "
        "on this host, where the node's proxy puts it (0: never wait; no proxy here)",
    )
    p.add_argument(
        "--node-labels",
        type=node_labels,
        default={},
        help="labels the Node carries, key=value[,key=value...]",
    )
    p.add_argument(
        "--register-with-taints",
        type=node_taints,
        default=(),
        help="taints the Node is created with, key[=value]:Effect[,...]",
    )
    p.add_argument("--log-level", default="info")
    p.add_argument(
        "--remove-containers",
        action="store_true",
        help="remove every container of the node (for `tug down`) and exit",
    )
    a = p.parse_args(argv)
    if not a.remove_containers:
        if not a.address:
            p.error("the following arguments are required: --address")
        if not a.server:
            p.error("the following arguments are required: --server")
    if a.reconnect_kill_after is None:
        a.reconnect_kill_after = max(4.0, 2 * a.lease_period)
    for flag, value in (
        ("--node-fence-grace-period", a.node_fence_grace_period),
        ("--reconnect-kill-after", a.reconnect_kill_after),
    ):
        if 0 < value <= a.lease_period:
            p.error(
                f"{flag}: {value:g} s must exceed --lease-period ({a.lease_period:g} s), or be 0"
            )
    if a.simulate < 1:
        p.error("--simulate: must be at least 1")
    if a.simulate > 1 and a.runtime != "fake":
        p.error("--simulate: more than one node needs --runtime fake")
    if a.crash_backoff > a.crash_backoff_max:
        p.error("--crash-backoff: must not exceed --crash-backoff-max")
    try:
        pod_network(a.cluster_cidr, a.service_cluster_ip_range)
    except IPAMError as e:
        p.error(str(e))
    if a.host_gw and a.pod_cidr_mode != "node":
        p.error("--host-gw: needs --pod-cidr-mode node (the node's bridge is its podCIDR)")
    try:
        token = read_token(a.token_file)
    except ValueError as e:
        p.error(f"--token-file: {e}")
    cluster_ca = b""
    if a.cluster_ca_file:
        try:
            cluster_ca = Path(a.cluster_ca_file).read_bytes()
        except OSError as e:
            p.error(f"--cluster-ca-file: {e.strerror}: {a.cluster_ca_file}")
    return from_flags(
        Options,
        a,
        token=token,
        tls=client_credentials(p, a),
        serving=server_tls(p, a),
        cluster_ca=cluster_ca,
        servers=a.server,
        root_dir=a.root_dir or _default_root(a.node_name),
        pods=PodSettings(
            crash_backoff_initial=a.crash_backoff,
            crash_backoff_max=a.crash_backoff_max,
            image_backoff_initial=a.image_backoff,
            image_backoff_max=max(a.image_backoff, 300.0),
            resync_period=a.resync_period,
        ),
        fencing=FenceSettings(
            fence_after=a.node_fence_grace_period, reconnect_kill_after=a.reconnect_kill_after
        ),
        # Named as their flags, but for the service range, whose flag is the API server's.
        network=from_flags(NetworkSettings, a, service_range=a.service_cluster_ip_range),
    )


def _runtime(opts: Options, node: str) -> ContainerRuntime:
    if opts.runtime == "fake":
        from kubelet.runtime.fake import FakeRuntime

        return FakeRuntime(node, start_delay=opts.fake_start_delay)
    from kubelet.runtime.docker import DockerRuntime

    n = opts.network
    return DockerRuntime(
        node,
        pod_cidr_mode=n.pod_cidr_mode,
        sandbox_network=n.sandbox_network,
        cluster_cidr=n.cluster_cidr,
        service_range=n.service_range,
        host_gw=n.host_gw,
        cluster_dns_wait=n.cluster_dns_wait,
    )


def _pod_networks(opts: Options, api: ApiClient, kubelets: list[Kubelet]) -> list[PodNetwork]:
    """One Node follower per Docker node that takes its pod IPs from its podCIDR."""
    from kubelet.runtime.docker import DockerRuntime

    out: list[PodNetwork] = []
    for k in kubelets:
        if isinstance(k.runtime, DockerRuntime) and opts.network.pod_cidr_mode == "node":
            name = k.config.node_name
            routes = RouteTable(name) if opts.network.host_gw else None
            out.append(
                PodNetwork(
                    api,
                    name,
                    k.runtime.bridge.set_pod_cidr,
                    routes=routes,
                    cluster_cidr=opts.network.cluster_cidr,
                )
            )
    return out


def build_kubelets(opts: Options, api: ApiClient) -> tuple[list[Kubelet], list[Informer[Any]]]:
    """The node(s) of this process, and the informers they share, which the caller runs.
    Simulated nodes share one Service informer and one Node informer: every node sees the
    same Services, and a thousand nodes then cost the API server four watches of Services,
    not a thousand, and re-read their Nodes from memory instead of by a GET each every
    status check."""
    names = node_names(opts)
    services: Informer[core_pb2.Service] | None = None
    nodes: Informer[core_pb2.Node] | None = None
    if len(names) > 1:
        services, nodes = Informer(api, "services"), Informer(api, "nodes")
    kubelets: list[Kubelet] = []
    for name in names:
        root = opts.root_dir if opts.simulate == 1 else opts.root_dir / name
        config = from_flags(KubeletConfig, opts, node_name=name, root_dir=root)
        kubelets.append(Kubelet(config, api, _runtime(opts, name), services, nodes))
    shared: list[Informer[Any]] = [i for i in (services, nodes) if i is not None]
    return kubelets, shared


START_BATCH = 20
"""Simulated nodes started at once."""
REGISTER_PACE_SECONDS = 30.0
"""How long a batch of simulated nodes may take to register before the next starts anyway."""


async def start_paced(kubelets: Sequence[Kubelet], stop: asyncio.Event) -> None:
    """Start the node(s); simulated ones a batch at a time, each batch once the one before
    has registered (or after REGISTER_PACE_SECONDS), until `stop` is set.

    Thousands of nodes started at once registered all at once: the API server answered
    their creates and first renewals tens of seconds late, and each node's fence clock,
    which runs from its start, ran out before its first renewal. Paced by registration,
    the nodes join as fast as the API server takes them, as real nodes join a cluster.
    """
    for i in range(0, len(kubelets), START_BATCH):
        batch = kubelets[i : i + START_BATCH]
        await asyncio.gather(*(k.start() for k in batch))
        if i + START_BATCH >= len(kubelets):
            return  # the last batch (or a single real node) registers in its own time
        registered = asyncio.gather(
            *(k.heartbeat.registered.wait() for k in batch if k.heartbeat is not None)
        )
        stopping = asyncio.ensure_future(stop.wait())
        either: set[asyncio.Future[Any]] = {registered, stopping}
        try:
            await asyncio.wait(
                either, timeout=REGISTER_PACE_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            registered.cancel()
            stopping.cancel()
            await asyncio.gather(registered, stopping, return_exceptions=True)
        if stop.is_set():
            return


def node_names(opts: Options) -> list[str]:
    """The node name, or name-0 … name-(N-1) when simulating N nodes."""
    if opts.simulate == 1:
        return [opts.node_name]
    return [f"{opts.node_name}-{i}" for i in range(opts.simulate)]


async def run(opts: Options, stop: asyncio.Event) -> None:
    """Run the node(s) until `stop` is set."""
    api = ApiClient(opts.servers, ClientOptions(token=opts.token, tls=opts.tls))
    kubelets, shared = build_kubelets(opts, api)
    collectors = [k.stats for k in kubelets]
    server = await agent.serve(
        [k.manager for k in kubelets if k.manager is not None],
        opts.address,
        opts.port,
        collectors,
        tls=opts.serving,
    )
    status: StatusServer | None = None
    if opts.http_port is not None:
        status = StatusServer(opts.address, opts.http_port, registry=REGISTRY)
        status.add_routes([metrics_route("/metrics/cadvisor", cadvisor_registry(collectors))])
        await status.start()
    networks = [
        asyncio.create_task(n.run(), name=f"podnetwork-{n.node}")
        for n in _pod_networks(opts, api, kubelets)
    ]
    for informer in shared:
        informer.start()
    try:
        await start_paced(kubelets, stop)
        await stop.wait()
    finally:
        log.info("stopping", nodes=len(kubelets))
        await server.stop(2.0)
        for t in networks:
            t.cancel()
        await asyncio.gather(*networks, return_exceptions=True)
        await asyncio.gather(*(k.stop() for k in kubelets), return_exceptions=True)
        for informer in shared:
            await informer.stop()
        for k in kubelets:
            await k.runtime.close()
        if status is not None:
            await status.stop()
        await api.close()


async def remove_containers(opts: Options, *, bridge: str = "") -> None:
    """Stop and remove every container labelled with the node(s), and their files; then,
    on Docker, the pod bridge (`bridge`, the kubelets' own if "") if the kubelet made it
    and no other node's container is still on it."""
    for name in node_names(opts):
        runtime = _runtime(opts, name)
        try:
            containers = await runtime.list_containers()
            for c in containers:
                await runtime.remove_container(c.id)
            log.info("removed the node's containers", node=name, count=len(containers))
        finally:
            await runtime.close()
    shutil.rmtree(opts.root_dir / "pods", ignore_errors=True)
    # The same test as _runtime's: simulated nodes never touch the engine.
    if opts.runtime != "fake":
        from kubelet.network.bridge import NETWORK, remove_if_unused

        await asyncio.to_thread(remove_if_unused, bridge or NETWORK)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    opts = parse_args(argv)
    configure_logging("kubelet", level=opts.log_level)

    async def amain() -> None:
        if opts.remove_containers:
            await remove_containers(opts)
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run(opts, stop)

    try:
        import uvloop
    except ImportError:
        asyncio.run(amain())
    else:
        uvloop.run(amain())


if __name__ == "__main__":
    main()
