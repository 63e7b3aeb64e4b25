"""`tug up --driver docker`: a cluster whose masters and workers are Docker containers.

As kind does, each node is a container of the node image (deploy/node-image: systemd as
PID 1, Tugboat installed by the provisioning scripts) with its own IP on a Docker network
made for the cluster. `tug up` creates the network and the containers, gives each node its
role with the same `configure.sh` a VM runs, and waits step by step (etcd healthy, API
servers ready, every node Ready), printing a line per step. Masters run etcd (the first
`etcd_members`), an API server, a scheduler and a controller manager; workers run their
own Docker engine (its data on a volume, its address ranges their own), the kubelet and
the proxy, and route each other's podCIDRs over the cluster network (host-gw).

Everything made carries the label `io.tugboat.cluster=<name>`, and `tug down --name C`
removes exactly what has that label: containers, their volumes, the network. Node
containers are never `--privileged` (this engine refuses it); the flags below are the ones
measured to run systemd and a nested engine without it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import shutil
import ssl
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cli.cluster.clusterconfig import ClusterSpec, NodeSpec
from cli.cluster.dockercli import docker
from cli.cluster.probes import http_get
from cli.errors import CliError

LABEL = "io.tugboat.cluster"
ROLE_LABEL = "io.tugboat.role"
NODE_FLAGS = (
    "--cgroupns=private",
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=systempaths=unconfined",
    "--tmpfs=/run",
    "--tmpfs=/run/lock",
)
"""What a node container needs to run systemd and its own Docker engine, without
--privileged. Never a bind mount of the host's /sys/fs/cgroup: with a private cgroup
namespace the node sees only its own."""
SUBNET_POOL = ipaddress.IPv4Network("172.29.0.0/16")
"""Cluster networks are /24s from here: clear of Docker's default pools and of the pod
network (172.30.0.0/16)."""
API_PORT = 6443
API_HTTP_PORT = 8443
ETCD_PORT = 2379
BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "node-image" / "build.sh"
"""The node image's build, where `tug` runs from a checkout."""
BOOT_TIMEOUT = 90.0
STEP_TIMEOUT = 120.0
POLL = 0.25

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Node:
    """A node container of the cluster."""

    name: str
    role: str
    spec: NodeSpec
    index: int
    """Its position among the nodes of its role."""


def nodes_of(name: str, spec: ClusterSpec) -> list[Node]:
    """The cluster's node containers: `NAME-master-i`, then `NAME-worker-j`."""
    masters = [Node(f"{name}-master-{i}", "master", s, i) for i, s in enumerate(spec.masters)]
    workers = [Node(f"{name}-worker-{j}", "worker", s, j) for j, s in enumerate(spec.workers)]
    return masters + workers


def network_name(name: str) -> str:
    return f"tug-{name}"


async def image_ready(image: str) -> bool:
    code, _ = await docker("image", "inspect", image, check=False)
    return code == 0


async def build_image(progress: Progress) -> None:
    """Build the node image from this checkout (deploy/node-image/build.sh)."""
    script = BUILD_SCRIPT
    if not await asyncio.to_thread(script.exists):
        raise CliError(
            "the node image is missing and this installation has no deploy/node-image: "
            "run `make images` in a Tugboat checkout"
        )
    progress(f"  building the node image with {script} (minutes the first time)")
    proc = await asyncio.create_subprocess_exec("bash", str(script))
    if await proc.wait() != 0:
        raise CliError(f"{script} failed (exit {proc.returncode})")


async def _taken_subnets() -> list[ipaddress.IPv4Network]:
    _, out = await docker("network", "ls", "-q")
    ids = out.split()
    if not ids:
        return []
    _, text = await docker("network", "inspect", *ids)
    taken = []
    for net in json.loads(text):
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            try:
                taken.append(ipaddress.IPv4Network(cfg.get("Subnet", ""), strict=False))
            except ValueError:
                continue
    return taken


async def create_network(name: str) -> ipaddress.IPv4Network:
    """The cluster's network: a free /24 of SUBNET_POOL, first tried where the name hashes."""
    subnets = list(SUBNET_POOL.subnets(new_prefix=24))
    start = zlib.crc32(name.encode()) % len(subnets)
    taken = await _taken_subnets()
    for k in range(len(subnets)):
        subnet = subnets[(start + k) % len(subnets)]
        if any(subnet.overlaps(t) for t in taken):
            continue
        code, _ = await docker(
            "network", "create", "--driver", "bridge", "--subnet", str(subnet),
            "--label", f"{LABEL}={name}", network_name(name), check=False,
        )  # fmt: skip
        if code == 0:
            return subnet
    raise CliError(f"no free /24 in {SUBNET_POOL} for the cluster's network")


async def run_node(cluster: str, node: Node, image: str) -> None:
    """Start one node container (its volumes first, labelled like it)."""
    volumes = [(f"{node.name}-data", "/var/lib/tugboat")]
    if node.role == "worker":
        # The node's own Docker engine cannot keep its overlay layers on overlay.
        volumes.append((f"{node.name}-docker", "/var/lib/docker"))
    mounts = []
    for volume, target in volumes:
        await docker("volume", "create", "--label", f"{LABEL}={cluster}", volume)
        mounts.append(f"--volume={volume}:{target}")
    ports = [f"--publish={p.publish()}" for p in node.spec.port_mappings]
    await docker(
        "run", "--detach", f"--name={node.name}", f"--hostname={node.name}",
        f"--network={network_name(cluster)}", f"--label={LABEL}={cluster}",
        f"--label={ROLE_LABEL}={node.role}", *NODE_FLAGS, *mounts, *ports, image,
    )  # fmt: skip


async def address_of(container: str, cluster: str) -> str:
    """The container's IPv4 address on the cluster network; CliError when it has none."""
    _, out = await docker(
        "inspect", "-f",
        f'{{{{(index .NetworkSettings.Networks "{network_name(cluster)}").IPAddress}}}}',
        container,
    )  # fmt: skip
    text = out.strip()
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise CliError(f"{container} has no address on {network_name(cluster)}") from None


async def wait_booted(container: str) -> None:
    """Wait until systemd in the container has finished starting up."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        _, out = await docker(
            "exec", container, "systemctl", "is-system-running", check=False, timeout=10
        )
        state = out.strip()
        if state in ("running", "degraded"):
            return
        await asyncio.sleep(POLL)
    raise CliError(f"{container}: systemd did not finish booting in {BOOT_TIMEOUT:g} s ({state})")


def configure_argv(
    cluster: str,
    node: Node,
    address: str,
    masters: list[str],
    etcd: list[str],
    pki: str = "",
) -> list[str]:
    """`configure.sh` for this node: the same script a VM's provisioning runs; with `pki`
    (the folder holding the node's credentials) a secure cluster."""
    argv = [
        "/opt/tugboat/provision/configure.sh", "--role", node.role, "--name", node.name,
        "--address", address, "--masters", ",".join(masters), "--etcd", ",".join(etcd),
        "--cluster", cluster,
    ]  # fmt: skip
    if pki:
        argv += ["--pki", pki]
    if node.role == "worker":
        # Each node's engine gets ranges of its own: the defaults of every engine collide.
        argv += [
            "--docker-bip", f"10.250.{node.index}.1/24",
            "--docker-pools", f"10.{100 + node.index}.0.0/16",
        ]  # fmt: skip
        extra = node.spec.kubelet_flags()
        if extra:
            argv += ["--kubelet-args", " ".join(extra)]
    return argv


async def configure(cluster: str, node: Node, argv: list[str]) -> None:
    await docker("exec", node.name, *argv, timeout=STEP_TIMEOUT)


async def copy_in(node: str, folder: Path, target: str) -> None:
    """Copy `folder`'s files into the node at `target` (made first), modes kept."""
    await docker("exec", node, "install", "-d", "-m", "0700", target)
    await docker("cp", f"{folder}/.", f"{node}:{target}/")


async def wait_http(
    host: str,
    port: int,
    path: str,
    ok: Callable[[int, bytes], bool],
    tls: bool | ssl.SSLContext = False,
) -> bool:
    """Poll host:port/path until `ok`; False after STEP_TIMEOUT."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        if ok(*await http_get(host, port, path, tls=tls)):
            return True
        await asyncio.sleep(POLL)
    return False


async def cluster_containers(cluster: str) -> list[str]:
    """Names of every container carrying the cluster's label, running or not."""
    _, out = await docker(
        "ps", "--all", "--filter", f"label={LABEL}={cluster}", "--format", "{{.Names}}"
    )
    return sorted(out.split())


async def remove(cluster: str) -> tuple[int, int, int]:
    """Remove the cluster's containers, volumes and network: (containers, volumes, networks).

    Only what carries the cluster's label: nothing else on the engine is touched.
    """
    containers = await cluster_containers(cluster)
    if containers:
        await docker("rm", "--force", "--volumes", *containers, timeout=STEP_TIMEOUT)
    _, out = await docker("volume", "ls", "-q", "--filter", f"label={LABEL}={cluster}")
    volumes = out.split()
    if volumes:
        await docker("volume", "rm", "--force", *volumes)
    _, out = await docker("network", "ls", "-q", "--filter", f"label={LABEL}={cluster}")
    networks = out.split()
    if networks:
        await docker("network", "rm", *networks)
    return len(containers), len(volumes), len(networks)


async def load_images(
    cluster: str, images: list[str], nodes: list[str], progress: Progress
) -> None:
    """Copy images from the host's engine into each node's engine (`docker save | load`)."""
    if not images:
        raise CliError("name at least one image")
    for image in images:
        if not await image_ready(image):
            raise CliError(f'image "{image}" is not present on the host\'s engine')
    known = await cluster_containers(cluster)
    workers = [n for n in known if "-worker-" in n]
    targets = nodes or workers
    unknown = [n for n in targets if n not in known]
    if unknown:
        raise CliError(
            f'no node {", ".join(unknown)} in cluster "{cluster}" (nodes: {", ".join(known)})'
        )
    if not targets:
        raise CliError(f'cluster "{cluster}" has no worker nodes to load images into')
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="tugboat-load-"))
    archive = folder / "images.tar"
    try:
        await docker("save", "-o", str(archive), *images, timeout=600)
        for node in targets:
            await docker(
                "exec", "-i", node, "docker", "load", "-q", stdin_file=archive, timeout=600
            )
            progress(f"  loaded {', '.join(images)} into {node}")
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
