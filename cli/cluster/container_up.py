"""The steps of `tug up --driver docker`, each printing its line as it completes.

Image, network, each container, etcd healthy, API servers ready, each node Ready: a user
sees where a slow or failed start stands. A failure removes everything made so far (by the
cluster's label) before the error is shown, so a failed `tug up` leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from cli.cluster import containers, hostpki, nodes
from cli.cluster.clusterconfig import ClusterSpec
from cli.cluster.containers import API_HTTP_PORT, API_PORT, ETCD_PORT, Node
from cli.cluster.hostpki import PKI_DIR
from cli.errors import CliError
from client.tls import ClientCredentials

Progress = Callable[[str], None]
NODES_READY_TIMEOUT = 180.0


@dataclass(frozen=True)
class Started:
    """What `tug up` made: every node's address, and the API servers for the context."""

    addresses: dict[str, str]
    masters: list[str]
    workers: list[str]
    admin: hostpki.Admin | None = None
    """The CA and the admin's certificate of a secure cluster."""

    @property
    def servers(self) -> list[str]:
        return [f"{self.addresses[m]}:{API_PORT}" for m in self.masters]


def _etcd_healthy(status: int, body: bytes) -> bool:
    return status == 200 and b'"true"' in body


def _elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"


async def up(
    name: str, spec: ClusterSpec, image: str, progress: Progress, pki: Path | None = None
) -> Started:
    """Bring the cluster up, step by step; on any failure remove what was made. With
    `pki` (a host folder for the credentials) the cluster is secure."""
    try:
        return await _up(name, spec, image, progress, pki)
    except BaseException:
        await asyncio.shield(containers.remove(name))
        raise


async def _up(
    name: str, spec: ClusterSpec, image: str, progress: Progress, pki: Path | None
) -> Started:
    began = time.monotonic()
    if not await containers.image_ready(image):
        progress(f"  image {image} is missing")
        await containers.build_image(progress)
        if not await containers.image_ready(image):
            raise CliError(f"image {image} is still missing after the build")
    progress(f"  ✓ image {image}")
    subnet = await containers.create_network(name)
    progress(f"  ✓ network {containers.network_name(name)} ({subnet})")
    all_nodes = containers.nodes_of(name, spec)
    addresses: dict[str, str] = {}
    for node in all_nodes:
        await containers.run_node(name, node, image)
        addresses[node.name] = await containers.address_of(node.name, name)
        progress(f"  ✓ container {node.name} ({node.role}) at {addresses[node.name]}")
    await asyncio.gather(*(containers.wait_booted(n.name) for n in all_nodes))
    progress(f"  ✓ systemd running on {len(all_nodes)} nodes ({_elapsed(began)})")
    masters = [n for n in all_nodes if n.role == "master"]
    workers = [n for n in all_nodes if n.role == "worker"]
    master_ips = [addresses[m.name] for m in masters]
    etcd_ips = master_ips[: spec.etcd_members]
    admin, tls, where = None, None, ""
    if pki is not None:
        admin = hostpki.issue(
            pki,
            name,
            {m.name: addresses[m.name] for m in masters},
            {w.name: addresses[w.name] for w in workers},
            etcd_ips,
        )
        await asyncio.gather(
            *(containers.copy_in(n.name, pki / n.name, PKI_DIR) for n in all_nodes)
        )
        tls = ClientCredentials(admin.ca, admin.cert, admin.key)
        where = PKI_DIR
        progress(f"  ✓ certificates of a cluster CA on every node ({_elapsed(began)})")
    # etcd demands a client certificate even for /health: the admin's, checking etcd's.
    probe: bool | ssl.SSLContext = tls.ssl_context() if tls is not None else False

    def configure(n: Node) -> Awaitable[None]:
        return _configure(name, n, addresses, master_ips, etcd_ips, where)

    await asyncio.gather(*(configure(m) for m in masters))
    for ip in etcd_ips:
        await _wait(ip, ETCD_PORT, "/health", _etcd_healthy, "etcd", probe)
    progress(f"  ✓ etcd healthy ({len(etcd_ips)} members) ({_elapsed(began)})")
    for ip in master_ips:
        await _wait(ip, API_HTTP_PORT, "/readyz", lambda s, _b: s == 200, "the API server", probe)
    progress(
        f"  ✓ API servers ready: {', '.join(f'{ip}:{API_PORT}' for ip in master_ips)} "
        f"({_elapsed(began)})"
    )

    await asyncio.gather(*(configure(w) for w in workers))
    servers = [f"{ip}:{API_PORT}" for ip in master_ips]
    waiting = [w.name for w in workers]
    deadline = time.monotonic() + NODES_READY_TIMEOUT
    while waiting:
        left = max(1.0, deadline - time.monotonic())
        ready = await nodes.ready_names(servers, waiting, timeout=left, tls=tls)
        for n in ready:
            progress(f"  ✓ node {n} Ready ({_elapsed(began)})")
        waiting = [n for n in waiting if n not in ready]
    return Started(addresses, [m.name for m in masters], [w.name for w in workers], admin)


async def _configure(
    name: str,
    node: Node,
    addresses: dict[str, str],
    masters: list[str],
    etcd: list[str],
    pki: str,
) -> None:
    argv = containers.configure_argv(name, node, addresses[node.name], masters, etcd, pki)
    await containers.configure(name, node, argv)


async def _wait(
    host: str,
    port: int,
    path: str,
    ok: Callable[[int, bytes], bool],
    what: str,
    tls: bool | ssl.SSLContext = False,
) -> None:
    if not await containers.wait_http(host, port, path, ok, tls):
        raise CliError(
            f"{what} at {host}:{port} did not answer {path} within "
            f"{containers.STEP_TIMEOUT:g} s; see `docker exec <node> journalctl -u tug-*`"
        )
