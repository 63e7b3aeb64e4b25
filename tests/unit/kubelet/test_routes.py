"""host-gw routes: the `ip` commands that route every other node's podCIDR via its address."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence

import pytest

from kubelet.network.routes import (
    ROUTE_PROTO,
    RouteError,
    RouteTable,
    desired_routes,
    parse_routes,
    plan,
    run_ip,
)
from proto import core_pb2


def node(name: str, cidr: str = "", address: str = "", deleting: bool = False) -> core_pb2.Node:
    n = core_pb2.Node(api_version="v1", kind="Node")
    n.metadata.name = name
    n.spec.pod_cidr = cidr
    if address:
        n.status.addresses.add(type="InternalIP", address=address)
    n.status.addresses.add(type="Hostname", address=name)
    if deleting:
        n.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    return n


class FakeIp:
    """Records the commands and answers `ip route show` from its own table."""

    def __init__(self, table: dict[str, str], fail: set[str] | None = None) -> None:
        self.table = dict(table)
        self.commands: list[list[str]] = []
        self.fail = fail or set()

    async def __call__(self, argv: Sequence[str]) -> str:
        self.commands.append(list(argv))
        args = list(argv)[4:] if argv[1] == "netns" else list(argv)
        if args[2] == "show":
            return "".join(
                f"{c} via {v} dev eth1 proto {ROUTE_PROTO}\n" for c, v in self.table.items()
            )
        if args[3] in self.fail:
            raise RouteError(f"{' '.join(args)}: Nexthop has invalid gateway")
        if args[2] == "replace":
            self.table[args[3]] = args[5]
        elif args[2] == "del":
            self.table.pop(args[3], None)
        return ""


def test_every_other_node_with_a_pod_cidr_and_address_gets_a_route() -> None:
    nodes = [
        node("a", "172.30.0.0/24", "10.0.0.1"),
        node("b", "172.30.1.0/24", "10.0.0.2"),
        node("c", "", "10.0.0.3"),  # no podCIDR yet
        node("d", "172.30.3.0/24"),  # no address yet
        node("e", "172.30.4.0/24", "10.0.0.5", deleting=True),
    ]
    assert desired_routes(nodes, "a") == {"172.30.1.0/24": "10.0.0.2"}


def test_ip_route_show_output_is_read_as_destination_and_gateway() -> None:
    text = (
        "172.30.1.0/24 via 10.0.0.2 dev eth1 proto 177\n"
        "172.30.9.7 via 10.0.0.9 dev eth1 proto 177 onlink\n"
        "172.30.2.0/24 dev br0 scope link\n"
    )
    assert parse_routes(text) == {"172.30.1.0/24": "10.0.0.2", "172.30.9.7/32": "10.0.0.9"}


def test_missing_and_moved_routes_are_replaced_and_stale_ones_deleted() -> None:
    current = {
        "172.30.1.0/24": "10.0.0.2",
        "172.30.2.0/24": "10.0.0.9",
        "172.30.7.0/24": "10.0.0.7",
    }
    desired = {
        "172.30.1.0/24": "10.0.0.2",
        "172.30.2.0/24": "10.0.0.3",
        "172.30.3.0/24": "10.0.0.4",
    }
    assert plan(current, desired) == [
        ["ip", "route", "replace", "172.30.2.0/24", "via", "10.0.0.3", "proto", "177"],
        ["ip", "route", "replace", "172.30.3.0/24", "via", "10.0.0.4", "proto", "177"],
        ["ip", "route", "del", "172.30.7.0/24", "proto", "177"],
    ]


def test_routes_already_right_need_no_command() -> None:
    same = {"172.30.1.0/24": "10.0.0.2"}
    assert plan(same, same) == []


async def test_a_sync_reads_only_its_own_routes_and_then_converges() -> None:
    ip = FakeIp({"172.30.5.0/24": "10.0.0.5"})
    table = RouteTable("a", run=ip)
    done = await table.sync({"172.30.1.0/24": "10.0.0.2"})
    assert ip.commands[0] == ["ip", "route", "show", "proto", "177"]
    assert done == [
        ["ip", "route", "replace", "172.30.1.0/24", "via", "10.0.0.2", "proto", "177"],
        ["ip", "route", "del", "172.30.5.0/24", "proto", "177"],
    ]
    assert ip.table == {"172.30.1.0/24": "10.0.0.2"}
    assert await table.sync({"172.30.1.0/24": "10.0.0.2"}) == []


async def test_one_failing_route_does_not_stop_the_others() -> None:
    ip = FakeIp({}, fail={"172.30.1.0/24"})
    table = RouteTable("a", run=ip)
    done = await table.sync({"172.30.1.0/24": "10.9.9.9", "172.30.2.0/24": "10.0.0.3"})
    assert [c[3] for c in done] == ["172.30.2.0/24"]


async def test_commands_run_inside_the_given_network_namespace() -> None:
    ip = FakeIp({})
    await RouteTable("a", run=ip, netns="tb-test").sync({"172.30.1.0/24": "10.0.0.2"})
    assert all(c[:4] == ["ip", "netns", "exec", "tb-test"] for c in ip.commands)


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace of our own with a bridge on 198.51.100.1/24; removed afterwards."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2")
    name = f"tbrt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for argv in (
            ["link", "add", "tb0", "type", "bridge"],
            ["addr", "add", "198.51.100.1/24", "dev", "tb0"],
            ["link", "set", "tb0", "up"],
        ):
            subprocess.run(["ip", "-n", name, *argv], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


async def test_routes_are_really_written_and_removed_in_a_network_namespace(netns: str) -> None:
    table = RouteTable("a", netns=netns)
    nodes = [
        node("a", "172.30.0.0/24", "198.51.100.1"),
        node("b", "172.30.1.0/24", "198.51.100.2"),
        node("c", "172.30.2.0/24", "198.51.100.3"),
    ]
    await table.sync(desired_routes(nodes, "a"))
    assert await table.current() == {
        "172.30.1.0/24": "198.51.100.2",
        "172.30.2.0/24": "198.51.100.3",
    }
    await table.sync(desired_routes(nodes[:2], "a"))  # node c left
    assert await table.current() == {"172.30.1.0/24": "198.51.100.2"}
    # The connected route of the bridge is not ours: never listed, never deleted.
    shown = await run_ip(["ip", "-n", netns, "route", "show"])
    assert "198.51.100.0/24 dev tb0" in shown


class FakeIptables:
    """Chains as ordered rule lists: answers `-S`, and applies `-I CHAIN 1` and `-D`."""

    def __init__(self, chains: dict[tuple[str, str], list[str]] | None = None) -> None:
        self.chains = chains or {}
        self.commands: list[list[str]] = []

    async def __call__(self, argv: Sequence[str]) -> str:
        args = list(argv)
        self.commands.append(args)
        table, op, chain = args[2], args[3], args[4]
        rules = self.chains.setdefault((table, chain), [])
        if op == "-S":
            return "".join(f"-A {chain} {r}\n" for r in rules)
        if op == "-I":
            rules.insert(0, shlex.join(args[6:]).replace("'", '"'))
        if op == "-D":
            rules.remove(shlex.join(args[5:]).replace("'", '"'))
        return ""


MARK = ["-m", "comment", "--comment", "tugboat host-gw"]
ACCEPT = ["-s", "172.30.0.0/16", "-d", "172.30.1.0/24", *MARK, "-j", "ACCEPT"]
RETURN = ["-s", "172.30.1.0/24", "-d", "172.30.0.0/16", *MARK, "-j", "RETURN"]


async def test_host_gw_lets_pod_traffic_through_dockers_firewall_unmasqueraded() -> None:
    ipt = FakeIptables()
    table = RouteTable("a", run=ipt)
    done = await table.ensure_firewall("172.30.1.0/24", "172.30.0.0/16")
    assert done == [
        ["iptables", "-t", "filter", "-I", "DOCKER-USER", "1", *ACCEPT],
        ["iptables", "-t", "nat", "-I", "POSTROUTING", "1", *RETURN],
    ]
    # First in its chain now: listed, never inserted twice.
    assert await table.ensure_firewall("172.30.1.0/24", "172.30.0.0/16") == []
    assert [c[3] for c in ipt.commands[-2:]] == ["-S", "-S"]


async def test_a_rule_docker_got_ahead_of_is_moved_back_to_the_head() -> None:
    masquerade = "-s 172.30.1.0/24 ! -o br0 -j MASQUERADE"
    ipt = FakeIptables()
    table = RouteTable("a", run=ipt)
    await table.ensure_firewall("172.30.1.0/24", "172.30.0.0/16")
    ipt.chains[("nat", "POSTROUTING")].insert(0, masquerade)  # Docker's, at the head
    done = await table.ensure_firewall("172.30.1.0/24", "172.30.0.0/16")
    assert done == [
        ["iptables", "-t", "nat", "-D", "POSTROUTING", *RETURN],
        ["iptables", "-t", "nat", "-I", "POSTROUTING", "1", *RETURN],
    ]
    assert ipt.chains[("nat", "POSTROUTING")][1] == masquerade
    assert "RETURN" in ipt.chains[("nat", "POSTROUTING")][0]


async def test_the_return_rule_is_put_back_ahead_of_a_real_masquerade(netns: str) -> None:
    if shutil.which("iptables") is None:
        pytest.skip("needs iptables")

    def ipt(*argv: str) -> str:
        done = subprocess.run(
            ["ip", "netns", "exec", netns, "iptables", *argv],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    ipt("-N", "DOCKER-USER")
    ipt("-A", "DOCKER-USER", "-j", "RETURN")
    masquerade = ["-s", "172.30.1.0/24", "!", "-o", "tb0", "-j", "MASQUERADE"]
    ipt("-t", "nat", "-A", "POSTROUTING", *masquerade)
    table = RouteTable("a", netns=netns)

    def first(table: str, chain: str) -> str:
        return next(r for r in ipt("-t", table, "-S", chain).splitlines() if r.startswith("-A"))

    await table.ensure_firewall("172.30.1.0/24", "172.30.0.0/16")
    assert "tugboat host-gw" in first("nat", "POSTROUTING")
    assert "tugboat host-gw" in first("filter", "DOCKER-USER")
    ipt("-t", "nat", "-I", "POSTROUTING", "1", *masquerade)  # as Docker does
    await table.ensure_firewall("172.30.1.0/24", "172.30.0.0/16")
    assert "tugboat host-gw" in first("nat", "POSTROUTING")
    assert ipt("-t", "nat", "-S", "POSTROUTING").count("tugboat host-gw") == 1
