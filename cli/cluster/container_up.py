"""The steps of `tug up --driver docker`, each printing its line as it completes.

Image, network, each container, etcd healthy, API servers ready, each node Ready: a user
sees where a slow or failed start stands. A failure removes everything made so far (by the
cluster's label) before the error is shown, so a failed `tug up` leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from cli.cluster import containers, nodes
from cli.cluster.clusterconfig import ClusterSpec
from cli.cluster.containers import API_HTTP_PORT, API_PORT, ETCD_PORT, Node
from cli.errors import CliError

Progress = Callable[[str], None]
NODES_READY_TIMEOUT = 180.0


@dataclass(frozen=True)
class Started:
    """What `tug up` made: every node's address, and the API servers for the context."""

    addresses: dict[str, str]
    masters: list[str]
    workers: list[str]

    @property
    def servers(self) -> list[str]:
        return [f"{self.addresses[m]}:{API_PORT}" for m in self.masters]


def _elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"


async def up(name: str, spec: ClusterSpec, image: str, progress: Progress) -> Started:
    """Bring the cluster up, step by step; on any failure remove what was made."""
    try:
        return await _up(name, spec, image, progress)
    except BaseException:
        await asyncio.shield(containers.remove(name))
        raise


async def _up(name: str, spec: ClusterSpec, image: str, progress: Progress) -> Started:
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

    await asyncio.gather(*(_configure(name, m, addresses, master_ips, etcd_ips) for m in masters))
    for ip in etcd_ips:
        await _wait(ip, ETCD_PORT, "/health", lambda s, b: s == 200 and b'"true"' in b, "etcd")
    progress(f"  ✓ etcd healthy ({len(etcd_ips)} members) ({_elapsed(began)})")
    for ip in master_ips:
        await _wait(ip, API_HTTP_PORT, "/readyz", lambda s, _b: s == 200, "the API server")
    progress(
        f"  ✓ API servers ready: {', '.join(f'{ip}:{API_PORT}' for ip in master_ips)} "
        f"({_elapsed(began)})"
    )

    await asyncio.gather(*(_configure(name, w, addresses, master_ips, etcd_ips) for w in workers))
    servers = [f"{ip}:{API_PORT}" for ip in master_ips]
    waiting = [w.name for w in workers]
    deadline = time.monotonic() + NODES_READY_TIMEOUT
    while waiting:
        left = max(1.0, deadline - time.monotonic())
        ready = await nodes.ready_names(servers, waiting, timeout=left)
        for n in ready:
            progress(f"  ✓ node {n} Ready ({_elapsed(began)})")
        waiting = [n for n in waiting if n not in ready]
    return Started(addresses, [m.name for m in masters], [w.name for w in workers])


async def _configure(
    name: str, node: Node, addresses: dict[str, str], masters: list[str], etcd: list[str]
) -> None:
    argv = containers.configure_argv(name, node, addresses[node.name], masters, etcd)
    await containers.configure(name, node, argv)


async def _wait(
    host: str, port: int, path: str, ok: Callable[[int, bytes], bool], what: str
) -> None:
    if not await containers.wait_http(host, port, path, ok):
        raise CliError(
            f"{what} at {host}:{port} did not answer {path} within "
            f"{containers.STEP_TIMEOUT:g} s; see `docker exec <node> journalctl -u tug-*`"
        )
