"""host-gw routes: every other node's podCIDR via that node's InternalIP.

Where nodes are separate hosts, each host's pod bridge carries only its own podCIDR; a
packet for a pod elsewhere leaves through the host's routing table, which sends each
other node's podCIDR to that node's address (flannel's host-gw: no overlay, no
encapsulation, the nodes must share a link). On one machine every node shares the
Docker engine and the bridge, so no routes are needed and this stays off (`--host-gw`).

Routes this kubelet writes carry their own protocol number (`proto 177`), so it lists
and removes exactly its own and never touches routes someone else made. The table is
level-triggered: each sync compares `ip route show proto 177` with the Nodes and runs
the `replace` and `del` commands that close the gap.

Docker's own firewall stands in the way of routed pod traffic: its FORWARD policy drops
packets from another host to a container, and it masquerades everything leaving the
bridge, which would hide pod IPs. Two rules let pod-to-pod traffic through unchanged:
ACCEPT in DOCKER-USER for the cluster CIDR to this node's podCIDR, and RETURN in nat
POSTROUTING for this podCIDR to the cluster CIDR (flannel does the same). Each must be
the first rule of its chain, and each sync checks that it still is: Docker puts its own
rules at the head when it sets up a network, and a masquerade ahead of the RETURN hid
every pod's address from the pods of other nodes (and from their NetworkPolicies).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Sequence

import structlog

from client import commands
from proto import core_pb2

__all__ = [
    "ROUTE_PROTO",
    "RouteError",
    "RouteTable",
    "desired_routes",
    "firewall_rules",
    "parse_routes",
    "plan",
]

log = structlog.get_logger("kubelet.network.routes")

ROUTE_PROTO = "177"
"""The routing protocol number that marks Tugboat's routes (any unused 0-255 value)."""

Runner = Callable[[Sequence[str]], Awaitable[str]]
"""Runs one command (argv) and returns its standard output; RouteError on failure."""


class RouteError(Exception):
    """An `ip` command failed."""


def internal_ip(node: core_pb2.Node) -> str:
    """The node's InternalIP, or ""."""
    for a in node.status.addresses:
        if a.type == "InternalIP":
            return a.address
    return ""


def desired_routes(nodes: Iterable[core_pb2.Node], me: str) -> dict[str, str]:
    """podCIDR -> InternalIP for every other node that has both."""
    out: dict[str, str] = {}
    for node in nodes:
        if node.metadata.name == me or node.metadata.deletion_timestamp:
            continue
        cidr, via = node.spec.pod_cidr, internal_ip(node)
        if not cidr or not via:
            continue
        try:
            out[str(ipaddress.ip_network(cidr, strict=False))] = str(ipaddress.ip_address(via))
        except ValueError:
            log.warning("node has a bad podCIDR or address", node=node.metadata.name, cidr=cidr)
    return out


def parse_routes(text: str) -> dict[str, str]:
    """`ip route show` lines as destination -> gateway (routes without `via` are skipped)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or "via" not in words:
            continue
        dest = words[0]
        if "/" not in dest:
            dest += "/32"
        gateway_at = words.index("via") + 1
        if gateway_at < len(words):
            out[dest] = words[gateway_at]
    return out


def plan(current: dict[str, str], desired: dict[str, str]) -> list[list[str]]:
    """The `ip` commands that turn the current routes into the desired ones, in order."""
    commands = [
        ["ip", "route", "replace", cidr, "via", via, "proto", ROUTE_PROTO]
        for cidr, via in sorted(desired.items())
        if current.get(cidr) != via
    ]
    commands += [
        ["ip", "route", "del", cidr, "proto", ROUTE_PROTO]
        for cidr in sorted(current)
        if cidr not in desired
    ]
    return commands


MARK = "tugboat host-gw"
"""The comment on the kubelet's iptables rules, by which it finds them."""


def firewall_rules(pod_cidr: str, cluster_cidr: str) -> list[tuple[str, str, list[str]]]:
    """The iptables rules, as (table, chain, rule), that let routed pod traffic through."""
    mark = ["-m", "comment", "--comment", MARK]
    return [
        ("filter", "DOCKER-USER", ["-s", cluster_cidr, "-d", pod_cidr, *mark, "-j", "ACCEPT"]),
        ("nat", "POSTROUTING", ["-s", pod_cidr, "-d", cluster_cidr, *mark, "-j", "RETURN"]),
    ]


async def run_ip(argv: Sequence[str]) -> str:
    """Run a command, bounded to 10 s; RouteError with its stderr when it fails."""
    return await commands.run(argv, timeout=10.0, error=RouteError)


class RouteTable:
    """This host's Tugboat routes, kept equal to the desired set."""

    def __init__(self, node: str, *, run: Runner = run_ip, netns: str = "") -> None:
        self.node = node
        self._run = run
        self._prefix = ["ip", "netns", "exec", netns] if netns else []
        """Run inside a network namespace (tests), else in the host's."""
        self.log = log.bind(node=node)

    async def current(self) -> dict[str, str]:
        """The routes this kubelet wrote: destination -> gateway."""
        return parse_routes(
            await self._run([*self._prefix, "ip", "route", "show", "proto", ROUTE_PROTO])
        )

    async def ensure_firewall(self, pod_cidr: str, cluster_cidr: str) -> list[list[str]]:
        """Put each host-gw iptables rule first in its chain; the commands run.

        First, not only present: Docker inserts its own rules at the head of these chains
        when it sets up a network (its MASQUERADE for the bridge, its RETURN in
        DOCKER-USER), and a rule of ours behind them would never be reached. So a rule
        found further down is deleted and inserted again at the head."""
        done: list[list[str]] = []
        for table, chain, spec in firewall_rules(pod_cidr, cluster_cidr):
            try:
                listing = await self._run([*self._prefix, "iptables", "-t", table, "-S", chain])
            except RouteError as e:
                self.log.warning("cannot list firewall rules", chain=chain, error=str(e))
                continue
            rules = [line for line in listing.splitlines() if line.startswith("-A ")]
            if rules and MARK in rules[0]:
                continue
            steps: list[list[str]] = []
            if any(MARK in line for line in rules):
                steps.append(["iptables", "-t", table, "-D", chain, *spec])
            steps.append(["iptables", "-t", table, "-I", chain, "1", *spec])
            try:
                for argv in steps:
                    await self._run([*self._prefix, *argv])
            except RouteError as e:
                self.log.warning("firewall rule failed", chain=chain, error=str(e))
                continue
            self.log.info(
                "firewall rule put first",
                table=table,
                chain=chain,
                pod_cidr=pod_cidr,
                moved=len(steps) > 1,
            )
            done += steps
        return done

    async def sync(self, desired: dict[str, str]) -> list[list[str]]:
        """Replace missing or wrong routes and delete stale ones; the commands run."""
        commands = plan(await self.current(), desired)
        done: list[list[str]] = []
        for argv in commands:
            try:
                await self._run([*self._prefix, *argv])
            except RouteError as e:
                # One bad route (an unreachable gateway) must not block the others.
                self.log.warning("route command failed", cidr=argv[3], error=str(e))
                continue
            self.log.info("route " + argv[2], cidr=argv[3], via=argv[5] if len(argv) > 6 else "")
            done.append(argv)
        return done
