"""`tug port-forward TYPE/NAME [LOCAL:]REMOTE ...`: local ports to a pod's ports.

Like kubectl: `pod/NAME` forwards to that pod; `svc/NAME` (or `service/NAME`) to a
running, ready pod the Service selects, with REMOTE read as a service port and mapped to
its targetPort (a named targetPort is looked up in the pod's container ports). The
target pod is chosen again for every new connection, so a restarted pod is followed.

Unlike kubectl, the connection goes straight to the pod IP instead of through the
kubelet: pod IPs are reachable from every node (the project's Docker networks, with
host-gw routes between machines), so no tunnel is needed where the CLI runs on a node.
By the network rule local listeners are on loopback only (`--address`, default
127.0.0.1). It runs until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from cli.errors import CliError
from cli.invocation import Invocation
from client.api import ApiClient
from client.errors import NotFound
from client.selectors import format_labels
from proto import core_pb2

__all__ = ["register", "run"]

_KINDS = {"pod": "pods", "pods": "pods", "po": "pods",
          "svc": "services", "service": "services", "services": "services"}
_CHUNK = 64 * 1024
_CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Mapping:
    """One LOCAL:REMOTE pair; REMOTE may be a port name."""

    local: int
    remote: str


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug port-forward`."""
    p = sub.add_parser(
        "port-forward", parents=[common], help="forward local ports to a pod or service"
    )
    p.add_argument("target", metavar="TYPE/NAME", help="pod/NAME or svc/NAME")
    p.add_argument("ports", nargs="+", metavar="[LOCAL:]REMOTE")
    p.add_argument("--address", default="127.0.0.1", help="local loopback address to listen on")
    p.set_defaults(func=run)


def parse_target(text: str) -> tuple[str, str]:
    """("pods"|"services", name); CliError naming the argument otherwise."""
    kind, sep, name = text.partition("/")
    if not sep or not name or kind.lower() not in _KINDS:
        raise CliError(f'TYPE/NAME: "{text}" is not pod/NAME or svc/NAME')
    return _KINDS[kind.lower()], name


def parse_mapping(text: str) -> Mapping:
    """`8080:80`, `:80` (any free local port), `80` (the same port), `8080:http`."""
    local, sep, remote = text.rpartition(":")
    if not sep:
        local, remote = text, text
    if not remote:
        raise CliError(f'port "{text}": the remote port is missing')
    if local and not local.isdigit():
        raise CliError(f'port "{text}": the local port must be a number')
    number = int(local) if local else 0
    if not 0 <= number <= 65535:
        raise CliError(f'port "{text}": the local port must be within 0-65535')
    if remote.isdigit() and not 1 <= int(remote) <= 65535:
        raise CliError(f'port "{text}": the remote port must be within 1-65535')
    return Mapping(number, remote)


def _ready(pod: core_pb2.Pod) -> bool:
    return pod.status.phase == "Running" and bool(pod.status.pod_ip) and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions
    )


def _container_port(pod: core_pb2.Pod, name: str) -> int | None:
    for c in pod.spec.containers:
        for p in c.ports:
            if p.name == name:
                return int(p.container_port)
    return None


async def resolve(
    api: ApiClient, kind: str, namespace: str, name: str, remote: str
) -> tuple[str, int]:
    """The pod IP and port a new connection goes to now; CliError saying why there is none."""
    if kind == "pods":
        try:
            pod: Any = await api.get("pods", namespace, name)
        except NotFound:
            raise CliError(f'pods "{name}" not found') from None
        if not pod.status.pod_ip:
            raise CliError(f'pod "{name}" has no IP yet (phase {pod.status.phase or "Pending"})')
        port = int(remote) if remote.isdigit() else _container_port(pod, remote)
        if port is None:
            raise CliError(f'pod "{name}" has no container port named "{remote}"')
        return pod.status.pod_ip, port
    try:
        svc: Any = await api.get("services", namespace, name)
    except NotFound:
        raise CliError(f'services "{name}" not found') from None
    sport = next(
        (p for p in svc.spec.ports if str(p.port) == remote or (p.name and p.name == remote)),
        None,
    )
    if sport is None:
        raise CliError(f'service "{name}" has no port {remote}')
    if not svc.spec.selector:
        raise CliError(f'service "{name}" has no selector: no pod to forward to')
    selector = format_labels(svc.spec.selector)
    pods = [p for p in (await api.list("pods", namespace, label_selector=selector)).items
            if isinstance(p, core_pb2.Pod) and _ready(p)]
    if not pods:
        raise CliError(f'service "{name}" has no ready pod')
    pod = sorted(pods, key=lambda p: p.metadata.name)[0]
    target = sport.target_port
    if target.WhichOneof("value") == "str_val":
        port = _container_port(pod, target.str_val)
        if port is None:
            raise CliError(f'pod "{pod.metadata.name}" has no container port "{target.str_val}"')
        return pod.status.pod_ip, port
    return pod.status.pod_ip, int(target.int_val or sport.port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        # One chunk per turn; ends at EOF (bounded by the connection's life).
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def run(inv: Invocation) -> int:
    """Listen on every LOCAL port and forward each connection until interrupted."""
    kind, name = parse_target(inv.args.target)
    mappings = [parse_mapping(m) for m in inv.args.ports]
    address = inv.args.address
    try:
        if not ipaddress.ip_address(address).is_loopback:
            raise ValueError
    except ValueError:
        raise CliError(f'--address: "{address}" is not a loopback address (127.0.0.0/8)') from None
    namespace = inv.namespace()
    async with inv.client() as api:
        await resolve(api, kind, namespace, name, mappings[0].remote)  # fail early, clearly

        def handler(remote: str) -> Any:
            async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                try:
                    ip, port = await resolve(api, kind, namespace, name, remote)
                    async with asyncio.timeout(_CONNECT_TIMEOUT):
                        up_reader, up_writer = await asyncio.open_connection(ip, port)
                except (CliError, OSError, TimeoutError) as e:
                    inv.err(f"error forwarding port {remote}: {e}")
                    writer.close()
                    return
                inv.out(f"Handling connection for {writer.get_extra_info('sockname')[1]}")
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                up_writer.close()
                writer.close()

            return serve

        servers = []
        try:
            for m in mappings:
                try:
                    server = await asyncio.start_server(handler(m.remote), address, m.local)
                except OSError as e:
                    raise CliError(
                        f"unable to listen on {address}:{m.local}: {e.strerror}"
                    ) from None
                servers.append(server)
                bound = server.sockets[0].getsockname()[1]
                inv.out(f"Forwarding from {address}:{bound} -> {m.remote}")
                inv.stdout.flush()
            await asyncio.Event().wait()  # until interrupted (Ctrl-C cancels the run)
        finally:
            for server in servers:
                server.close()
            with contextlib.suppress(Exception):
                for server in servers:
                    await server.wait_closed()
    return 0
