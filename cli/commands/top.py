"""`tug top nodes|pods`: CPU and memory in use, in kubectl top's columns.

kubectl asks metrics-server, which scrapes every kubelet; here each kubelet's node-agent
service already keeps the CPU rate between its last two samples (kubelet/stats/), and the
API server relays `Stats` by node name, so the CLI asks each node concerned, all at once.
CPU prints in millicores and memory (the working set) in Mi, as kubectl does; CPU% and
MEMORY% are of the node's allocatable. A node whose kubelet has no figures yet shows
`<unknown>`, as in kubectl.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import Any

from cli.commands.nodeagent import on_some_server
from cli.errors import CliError
from cli.invocation import Invocation
from cli.printers import table
from client import errors
from client.quantity import cpu_millis, memory_bytes
from proto import core_pb2, nodeagent_pb2, nodeagent_pb2_grpc

UNKNOWN = "<unknown>"
_MI = 1 << 20


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug top nodes` and `tug top pods`."""
    top = sub.add_parser("top", parents=[common], help="CPU and memory in use")
    kinds = top.add_subparsers(dest="top_kind", metavar="nodes|pods")
    kinds.required = True
    for names, func, helptext in (
        (("nodes", "node", "no"), nodes, "usage of nodes"),
        (("pods", "pod", "po"), pods, "usage of pods"),
    ):
        p = kinds.add_parser(names[0], aliases=list(names[1:]), parents=[common], help=helptext)
        p.add_argument("name", nargs="?", default="")
        p.add_argument("-l", "--selector", default="", help="label selector")
        p.add_argument("--sort-by", choices=["cpu", "memory"], default="")
        p.add_argument("--no-headers", action="store_true")
        if func is pods:
            p.add_argument("-A", "--all-namespaces", action="store_true")
            p.add_argument("--containers", action="store_true", help="one line per container")
        p.set_defaults(func=func)


async def _stats(inv: Invocation, node: str) -> nodeagent_pb2.StatsResponse | None:
    """The node's usage, or None when its kubelet has none to give."""

    async def call(stub: nodeagent_pb2_grpc.NodeAgentStub) -> nodeagent_pb2.StatsResponse:
        response: nodeagent_pb2.StatsResponse = await stub.Stats(
            nodeagent_pb2.StatsRequest(node=node), timeout=inv.timeout() or 10
        )
        return response

    try:
        return await on_some_server(inv, call)
    except errors.ApiError:
        return None


async def _all_stats(
    inv: Invocation, names: Sequence[str]
) -> dict[str, nodeagent_pb2.StatsResponse | None]:
    found = await asyncio.gather(*(_stats(inv, n) for n in names))
    return dict(zip(names, found, strict=True))


def _millis(nano_cores: int) -> int:
    # Rounded up, as kubectl's Quantity.MilliValue does.
    return -(-nano_cores // 1_000_000)


def _sorted(rows: list[tuple[int, int, list[str]]], by: str) -> list[list[str]]:
    if by == "cpu":
        rows.sort(key=lambda r: -r[0])
    elif by == "memory":
        rows.sort(key=lambda r: -r[1])
    return [r[2] for r in rows]


def _print(inv: Invocation, header: list[str], rows: list[list[str]]) -> None:
    for line in table.format_table(None if inv.args.no_headers else header, rows):
        inv.out(line)


async def nodes(inv: Invocation) -> int:
    """One line per node: its CPU and memory, and their share of its allocatable."""
    a = inv.args
    async with inv.client() as api:
        if a.name:
            listed = [await api.get("nodes", "", a.name)]
        else:
            listed = list((await api.list("nodes", label_selector=a.selector)).items)
    found: list[core_pb2.Node] = [n for n in listed if isinstance(n, core_pb2.Node)]
    if not found:
        inv.err("No resources found")
        return 0
    stats = await _all_stats(inv, [n.metadata.name for n in found])
    rows: list[tuple[int, int, list[str]]] = []
    for node in sorted(found, key=lambda n: n.metadata.name):
        got = stats[node.metadata.name]
        if got is None:
            rows.append((-1, -1, [node.metadata.name, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN]))
            continue
        cpu = _millis(got.usage.cpu_nano_cores)
        memory = got.usage.memory_working_set_bytes
        alloc_cpu = cpu_millis(node.status.allocatable.get("cpu", "0") or "0")
        alloc_memory = memory_bytes(node.status.allocatable.get("memory", "0") or "0")
        rows.append(
            (
                cpu,
                memory,
                [
                    node.metadata.name,
                    f"{cpu}m",
                    f"{cpu * 100 // alloc_cpu}%" if alloc_cpu else UNKNOWN,
                    f"{memory // _MI}Mi",
                    f"{memory * 100 // alloc_memory}%" if alloc_memory else UNKNOWN,
                ],
            )
        )
    if a.name and rows[0][0] < 0:
        raise CliError("metrics not available yet")
    header = ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    _print(inv, header, _sorted(rows, a.sort_by))
    return 0


async def pods(inv: Invocation) -> int:
    """One line per pod (or per container): CPU and memory, summed over its containers."""
    a = inv.args
    namespace = "" if a.all_namespaces else inv.namespace()
    async with inv.client() as api:
        if a.name:
            if a.all_namespaces:
                raise CliError("a pod name cannot be given with --all-namespaces")
            listed = [await api.get("pods", namespace, a.name)]
        else:
            listed = list(
                (await api.list("pods", namespace, label_selector=a.selector)).items
            )
    wanted = {
        (p.metadata.namespace, p.metadata.name): p
        for p in listed
        if isinstance(p, core_pb2.Pod) and p.spec.node_name
    }
    node_names = sorted({p.spec.node_name for p in wanted.values()})
    stats = await _all_stats(inv, node_names)
    rows: list[tuple[int, int, list[str]]] = []
    for got in stats.values():
        for pod in got.pods if got is not None else []:
            if (pod.namespace, pod.name) not in wanted:
                continue
            prefix = [pod.namespace] if a.all_namespaces else []
            if a.containers:
                for c in pod.containers:
                    cpu, memory = _millis(c.usage.cpu_nano_cores), c.usage.memory_working_set_bytes
                    cells = [*prefix, pod.name, c.name, f"{cpu}m", f"{memory // _MI}Mi"]
                    rows.append((cpu, memory, cells))
                continue
            cpu = _millis(sum(c.usage.cpu_nano_cores for c in pod.containers))
            memory = sum(c.usage.memory_working_set_bytes for c in pod.containers)
            rows.append((cpu, memory, [*prefix, pod.name, f"{cpu}m", f"{memory // _MI}Mi"]))
    if not rows:
        if a.name or wanted:
            raise CliError("metrics not available yet")
        where = "" if a.all_namespaces else f" in {namespace} namespace"
        inv.err(f"No resources found{where}.")
        return 0
    rows.sort(key=lambda r: r[2])
    header = ["POD", "NAME"] if a.containers else ["NAME"]
    header = (["NAMESPACE"] if a.all_namespaces else []) + header
    _print(inv, [*header, "CPU(cores)", "MEMORY(bytes)"], _sorted(rows, a.sort_by))
    return 0
