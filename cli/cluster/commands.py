"""`tug up` and `tug down`: a cluster on this machine, of one of two drivers.

- `process` (the default): every daemon a detached process on loopback, nodes on their own
  127.0.0.x addresses, all sharing this machine's Docker engine;
- `docker`: every master and worker a container of the node image with its own IP, as
  kind does (containers.py, container_up.py).

`tug load docker-image` copies images into a docker-driver cluster's nodes.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path
from typing import Any

from cli import config as configfile
from cli.cluster import (
    clusterconfig,
    components,
    container_up,
    containers,
    credentials,
    kubeconfig,
    monitoring,
    nodes,
    processes,
    state,
)
from cli.cluster.components import Component
from cli.cluster.layout import (
    DEFAULT_BASE_PORT,
    DEFAULT_NAME,
    DEFAULT_NODE_ADDRESS,
    HOST,
    NODE_IMAGE,
    Layout,
)
from cli.cluster.probes import port_in_use
from cli.cluster.supervisor import Supervisor
from cli.errors import CliError
from cli.invocation import Invocation
from client.tls import ClientCredentials


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug up` and `tug down`."""
    up_parser = sub.add_parser("up", parents=[common], help="start a local cluster")
    up_parser.add_argument(
        "--name", default=None, help=f"default: the config's name, else {DEFAULT_NAME}"
    )
    up_parser.add_argument(
        "--driver",
        choices=["process", "docker"],
        default="process",
        help="process: daemons on loopback (default); docker: nodes as containers, like kind",
    )
    up_parser.add_argument("--masters", type=int, default=3)
    up_parser.add_argument("--fresh", action="store_true", help="wipe the cluster's data first")
    up_parser.add_argument(
        "--secure",
        action="store_true",
        help="the default: TLS everywhere, a certificate (and a token) "
        "per component and user, API servers authorizing with Node and RBAC",
    )
    up_parser.add_argument(
        "--insecure",
        action="store_true",
        help="plaintext, no credentials, everything allowed (tests that need it only)",
    )
    up_parser.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT)
    up_parser.add_argument(
        "--nodes",
        "--workers",
        dest="nodes",
        type=int,
        default=3,
        help="worker nodes, each with a kubelet and a proxy",
    )
    up_parser.add_argument(
        "--etcd-members",
        type=int,
        default=None,
        help="etcd members (process driver: 1; docker driver: every master, at most 5)",
    )
    up_parser.add_argument(
        "--config", type=Path, default=None, help="docker driver: the cluster as a file, kind-style"
    )
    up_parser.add_argument(
        "--image", default=None, help=f"docker driver: the node image (default {NODE_IMAGE})"
    )
    up_parser.add_argument(
        "--node-address",
        default=DEFAULT_NODE_ADDRESS,
        help="the first node's loopback address; the next nodes count up from it",
    )
    up_parser.add_argument(
        "--monitoring",
        action="store_true",
        help="also start Prometheus (and Grafana where installed) for the cluster",
    )
    up_parser.set_defaults(func=up)
    down_parser = sub.add_parser("down", parents=[common], help="stop a local cluster")
    down_parser.add_argument(
        "--name", default="", help="default: the current context's local cluster, else local"
    )
    down_parser.set_defaults(func=down)
    load_parser = sub.add_parser(
        "load", parents=[common], help="copy images into a docker-driver cluster's nodes"
    )
    load_sub = load_parser.add_subparsers(dest="what", required=True, metavar="docker-image")
    image_parser = load_sub.add_parser(
        "docker-image", parents=[common], help="copy images from this machine's engine"
    )
    image_parser.add_argument("images", nargs="+", metavar="IMAGE")
    image_parser.add_argument("--name", default="", help="the cluster (default: current)")
    image_parser.add_argument(
        "--nodes", default="", help="comma-separated node names (default: every worker)"
    )
    image_parser.set_defaults(func=load_image)


def tiers(layout: Layout, etcd_binary: str) -> list[list[Component]]:
    """What to start, tier by tier: etcd, each master role on every master, then each
    node role on every node."""
    out = [components.etcd_cluster(layout, etcd_binary)]
    for role in components.MASTER_ROLES:
        out.append([role(layout, i) for i in range(layout.masters)])
    for role in components.node_roles():
        out.append([role(layout, j) for j in range(layout.nodes)])
    return [tier for tier in out if tier]


def _write_context(layout: Layout, token: str = "", ca: bytes = b"") -> None:
    """The cluster's context in tug's config; on a secure cluster with the CA and the
    admin's token and client certificate."""
    cfg = configfile.load()
    cfg.clusters[layout.name] = layout.servers()
    previous = cfg.contexts.get(layout.name)
    namespace = previous.namespace if previous else "default"
    user = ""
    admin = f"{layout.name}-admin"
    cfg.users.pop(admin, None)
    cfg.certificates.pop(admin, None)
    cfg.authorities.pop(layout.name, None)
    if token:
        user = admin
        cfg.users[user] = token
    if ca:
        user = admin
        cfg.authorities[layout.name] = ca
        cert, key = credentials.certificate_files(layout, credentials.ADMIN)
        cfg.certificates[user] = (cert.read_bytes(), key.read_bytes())
    cfg.contexts[layout.name] = configfile.Context(layout.name, layout.name, namespace, user)
    cfg.current_context = layout.name
    configfile.save(cfg)


def _remove_context(name: str) -> None:
    cfg = configfile.load()
    if name not in cfg.clusters and name not in cfg.contexts:
        return
    cfg.clusters.pop(name, None)
    cfg.contexts.pop(name, None)
    cfg.users.pop(f"{name}-admin", None)
    cfg.certificates.pop(f"{name}-admin", None)
    cfg.authorities.pop(name, None)
    if cfg.current_context == name:
        cfg.current_context = ""
    configfile.save(cfg)


def default_name(inv: Invocation) -> str:
    """The current context's cluster when `tug up` made it, else "local"."""
    ctx = inv.config.context()
    if ctx is not None and ctx.cluster:
        try:
            if state.load(Layout(ctx.cluster)) is not None:
                return ctx.cluster
        except CliError:
            pass
    return DEFAULT_NAME


async def _stop_leftovers(inv: Invocation, layout: Layout, found: state.State) -> None:
    running = [r for r in found.processes if processes.alive(r)]
    if running:
        inv.out(f'Stopping {len(running)} processes left from cluster "{layout.name}".')
    await _stop(layout, found)


async def _stop(layout: Layout, found: state.State) -> None:
    """Stop every recorded process, then remove the containers of the recorded nodes."""
    recorded = nodes.recorded_nodes(found.processes)
    survivors = await Supervisor(layout, found).stop()
    if survivors:
        pids = ", ".join(f"{r.name} (pid {r.pid})" for r in survivors)
        raise CliError(f"could not stop {pids}; run `tug down` again")
    failed = await nodes.remove_containers(recorded)
    if failed:
        raise CliError(
            f"could not remove the containers of {', '.join(failed)}: "
            f"run `tug-kubelet --node-name NODE --remove-containers`"
        )


async def up(inv: Invocation) -> int:
    """Start the cluster with its driver, write the context, wait until all answer."""
    if inv.args.secure and inv.args.insecure:
        raise CliError("--secure and --insecure: give one")
    if inv.args.driver == "docker":
        return await up_containers(inv)
    if inv.args.config is not None:
        raise CliError("--config: describes container nodes; use it with --driver docker")
    args = inv.args
    layout = Layout(
        args.name or DEFAULT_NAME,
        args.base_port,
        args.masters,
        args.nodes,
        1 if args.etcd_members is None else args.etcd_members,
        args.node_address,
        secure=not args.insecure,
    )
    found = state.load(layout)
    if found is not None:
        running = [r for r in found.processes if processes.alive(r)]
        if running and len(running) == len(found.processes) and not args.fresh:
            servers = ",".join(Layout(found.name, found.base_port, found.masters).servers())
            inv.out(
                f'Cluster "{layout.name}" is already running ({len(running)} processes, '
                f"API servers {servers}). Use `tug down --name {layout.name}` to stop it."
            )
            return 0
        await _stop_leftovers(inv, layout, found)
    etcd_binary = await components.check_etcd()
    plan = tiers(layout, etcd_binary)
    busy = [
        f"{c.host}:{port} ({c.name})" for tier in plan for c in tier for port in c.ports
        if port_in_use(c.host, port)
    ]  # fmt: skip
    if busy:
        raise CliError(
            f"ports in use: {', '.join(busy)}; another cluster may be running there: "
            "pick another --base-port (and --node-address)"
        )
    if args.fresh:
        for m in range(layout.etcd_members):
            await asyncio.to_thread(shutil.rmtree, layout.etcd_data_for(m), True)
        await asyncio.to_thread(shutil.rmtree, layout.logs, True)
        await asyncio.to_thread(shutil.rmtree, layout.auth_dir, True)
    layout.root.mkdir(parents=True, exist_ok=True)
    admin_token = credentials.ensure_tokens(layout) if layout.secure else ""
    ca = credentials.ensure_pki(layout) if layout.secure else b""
    admin_tls = None
    if layout.secure:
        credentials.ensure_encryption(layout)
        cert, key = credentials.certificate_files(layout, credentials.ADMIN)
        admin_tls = ClientCredentials.from_files(credentials.ca_file(layout), cert, key)
    supervisor = Supervisor(layout, state.State(layout.name, layout.base_port, layout.masters))
    inv.out(f'Starting cluster "{layout.name}" in {layout.root}')
    inv.stdout.flush()
    try:
        for tier in plan:
            await supervisor.start_tier(tier, progress=inv.out)
            inv.stdout.flush()
        waiting = [layout.node_name(j) for j in range(layout.nodes)]
        while waiting:
            for name in await nodes.ready_names(
                layout.servers(), waiting, token=admin_token, tls=admin_tls
            ):
                inv.out(f"  ✓ node {name} Ready")
                waiting.remove(name)
            inv.stdout.flush()
        watchers = monitoring.components(layout) if args.monitoring else []
        if watchers:
            await supervisor.start_tier(watchers, progress=inv.out)
    except BaseException:
        await asyncio.shield(_stop(layout, supervisor.state))
        raise
    _write_context(layout, admin_token, ca)
    scheme = "https" if layout.secure else "http"
    kubeconfig.write(
        layout.name,
        f"{scheme}://{HOST}:{layout.apiserver_http_port(0)}",
        token=admin_token,
        ca=ca,
    )
    servers = ",".join(layout.servers())
    inv.out(
        f'Cluster "{layout.name}" is up: etcd at {",".join(layout.etcd_endpoints())}, '
        f"{layout.masters} API servers at {servers}"
        + (
            f", {layout.nodes} nodes at {layout.node_address(0)}"
            f"-{layout.node_address(layout.nodes - 1)}."
            if layout.nodes
            else "."
        )
    )
    inv.out(f'Context "{layout.name}" is now current (in {configfile.config_path()}).')
    inv.out(f"kubectl: KUBECONFIG={kubeconfig.path_for(layout.name)} kubectl get nodes")
    inv.out(f"Logs are in {layout.logs}/.")
    for line in monitoring.summary(layout, watchers) if watchers else []:
        inv.out(line)
    inv.out("")
    inv.out("Try:")
    inv.out("  tug apply -f examples/")
    inv.out("  tug get all")
    inv.out("  tug describe deployment web")
    inv.out(f"  tug down{'' if layout.name == DEFAULT_NAME else ' --name ' + layout.name}")
    return 0


async def down(inv: Invocation) -> int:
    """Stop every process `tug up` recorded, by PID (or remove the node containers), and
    remove the context."""
    layout = Layout(inv.args.name or default_name(inv))
    found = state.load(layout)
    if (found is not None and found.driver == "docker") or (
        found is None and await _has_containers(layout.name)
    ):
        made, volumes, networks = await containers.remove(layout.name)
        state.remove(layout)
        _remove_context(layout.name)
        inv.out(
            f'Cluster "{layout.name}" removed ({made} containers, {volumes} volumes, '
            f"{networks} network{'' if networks == 1 else 's'})."
        )
        return 0
    if found is None:
        _remove_context(layout.name)
        inv.out(f'No cluster "{layout.name}" is running.')
        return 0
    count = len(found.processes)
    await _stop(layout, found)
    state.remove(layout)
    _remove_context(layout.name)
    inv.out(f'Cluster "{layout.name}" stopped ({count} processes).')
    return 0


async def _has_containers(name: str) -> bool:
    """Whether the engine holds containers of a docker-driver cluster of this name."""
    try:
        return bool(await containers.cluster_containers(name))
    except CliError:
        return False  # no Docker here: no container cluster either


async def up_containers(inv: Invocation) -> int:
    """`tug up --driver docker`: node containers on a network of their own (kind-style)."""
    args = inv.args
    if args.config is not None:
        spec = clusterconfig.load(args.config)
        if args.etcd_members is not None:
            raise CliError("--etcd-members: set etcdMembers in the --config file instead")
    else:
        spec = clusterconfig.from_flags(args.masters, args.nodes, args.etcd_members)
    layout = Layout(args.name or spec.name or DEFAULT_NAME)
    name = layout.name
    image = args.image or NODE_IMAGE
    existing = await containers.cluster_containers(name)
    if existing and not args.fresh:
        inv.out(
            f'Cluster "{name}" already has {len(existing)} node containers '
            f"({', '.join(existing)}). Use `tug down --name {name}` (or --fresh) first."
        )
        return 0
    if existing:
        await containers.remove(name)
    inv.out(
        f'Creating cluster "{name}" on Docker: {len(spec.masters)} masters, '
        f"{len(spec.workers)} workers, {spec.etcd_members} etcd members"
        + (" (plaintext: --insecure)" if args.insecure else "")
    )
    pki = None if args.insecure else layout.auth_dir
    if pki is not None:
        # A new CA for new containers: credentials of an earlier cluster must not linger.
        await asyncio.to_thread(shutil.rmtree, pki, True)
        pki.mkdir(parents=True, mode=0o700)
    inv.stdout.flush()
    state.save(layout, state.State(name, 0, len(spec.masters), driver="docker"))

    def progress(line: str) -> None:
        inv.out(line)
        inv.stdout.flush()

    try:
        started = await container_up.up(name, spec, image, progress, pki)
    except BaseException:
        state.remove(layout)
        raise
    cfg = configfile.load()
    cfg.clusters[name] = started.servers
    previous = cfg.contexts.get(name)
    namespace = previous.namespace if previous else "default"
    admin, user = started.admin, ""
    cfg.authorities.pop(name, None)
    cfg.certificates.pop(f"{name}-admin", None)
    if admin is not None:
        user = f"{name}-admin"
        cfg.authorities[name] = admin.ca
        cfg.certificates[user] = (admin.cert, admin.key)
    cfg.contexts[name] = configfile.Context(name, name, namespace, user)
    cfg.current_context = name
    configfile.save(cfg)
    first = started.servers[0].rpartition(":")[0]
    scheme = "https" if admin is not None else "http"
    kubeconfig.write(
        name,
        f"{scheme}://{first}:{containers.API_HTTP_PORT}",
        ca=admin.ca if admin else b"",
        cert=admin.cert if admin else b"",
        key=admin.key if admin else b"",
    )
    inv.out(
        f'Cluster "{name}" is up: API servers at {",".join(started.servers)}, workers at '
        + (", ".join(started.addresses[w] for w in started.workers) or "(none)")
        + "."
    )
    inv.out(f'Context "{name}" is now current (in {configfile.config_path()}).')
    inv.out(f"kubectl: KUBECONFIG={kubeconfig.path_for(name)} kubectl get nodes")
    inv.out(f"Logs: docker exec {started.masters[0]} journalctl -u 'tug-*'")
    inv.out(f"  tug down{'' if name == DEFAULT_NAME else ' --name ' + name}")
    return 0


async def load_image(inv: Invocation) -> int:
    """`tug load docker-image IMAGE...`: like `kind load docker-image`."""
    name = inv.args.name or default_name(inv)
    wanted = [n.strip() for n in inv.args.nodes.split(",") if n.strip()]

    def progress(line: str) -> None:
        inv.out(line)
        inv.stdout.flush()

    await containers.load_images(name, inv.args.images, wanted, progress)
    return 0
