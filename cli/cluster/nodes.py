"""A local cluster's nodes seen from `tug up`/`tug down`: waiting until they are Ready,
and removing their containers once their kubelets are stopped.

Stopping a kubelet leaves its containers running on purpose (the next kubelet of the
node adopts them), so `tug down` removes them with `tug-kubelet --remove-containers`,
by the node names and directories recorded in the state file: it works even when the
code that started them has changed since.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from cli.cluster.components import executable
from cli.cluster.processes import Record
from cli.errors import CliError
from client.api import ApiClient, ClientOptions
from client.errors import ApiError
from client.timeouts import within
from client.tls import ClientCredentials

log = structlog.get_logger("tug.cluster")

NODES_READY_TIMEOUT = 60.0
REMOVE_TIMEOUT = 60.0


def _flag(argv: list[str], name: str) -> str:
    try:
        return argv[argv.index(name) + 1]
    except (ValueError, IndexError):
        return ""


def recorded_nodes(records: list[Record]) -> list[tuple[str, str]]:
    """(node name, kubelet root dir) of every kubelet in the state file."""
    out = []
    for r in records:
        if r.name.startswith("kubelet-"):
            name = _flag(r.argv, "--node-name")
            if name:
                out.append((name, _flag(r.argv, "--root-dir")))
    return out


async def remove_containers(nodes: list[tuple[str, str]]) -> list[str]:
    """Remove every container of these nodes; the nodes whose removal failed."""

    async def one(name: str, root: str) -> str | None:
        argv = [executable("tug-kubelet"), "--node-name", name, "--remove-containers"]
        if root:
            argv += ["--root-dir", root]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            out, _ = await within(proc.communicate(), REMOVE_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return name
        if proc.returncode != 0:
            log.warning("container removal failed", key=name, output=out.decode()[-500:])
            return name
        return None

    failed = await asyncio.gather(*(one(n, r) for n, r in nodes))
    return [f for f in failed if f]


def _ready(node: object) -> bool:
    conditions = getattr(getattr(node, "status", None), "conditions", [])
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


async def ready_names(
    servers: list[str],
    names: list[str],
    *,
    timeout: float = NODES_READY_TIMEOUT,
    token: str = "",
    tls: ClientCredentials | None = None,
) -> list[str]:
    """Wait until at least one of the named Nodes is Ready; those that are (sorted).

    CliError naming the nodes still waiting when none becomes Ready in time.
    """
    deadline = time.monotonic() + timeout
    async with ApiClient(servers, ClientOptions(token=token, tls=tls)) as api:
        while True:
            try:
                found = await api.list("nodes")
                ready = sorted({n.metadata.name for n in found.items if _ready(n)} & set(names))
                if ready:
                    return ready
            except ApiError as e:
                log.info("waiting for the API", error=str(e))
            if time.monotonic() >= deadline:
                raise CliError(
                    f"nodes not Ready within {timeout:g}s: {', '.join(sorted(names))}; "
                    "see their kubelet logs"
                )
            await asyncio.sleep(0.25)


async def wait_ready(
    servers: list[str], names: list[str], *, timeout: float = NODES_READY_TIMEOUT
) -> None:
    """Wait until every named Node reports Ready; CliError naming the ones that do not."""
    deadline = time.monotonic() + timeout
    waiting = list(names)
    while waiting:
        left = max(0.0, deadline - time.monotonic())
        ready = await ready_names(servers, waiting, timeout=left)
        waiting = [n for n in waiting if n not in ready]
