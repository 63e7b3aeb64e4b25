"""The node and etcd-member parts of `tug up`: names, addresses, ports, command lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.cluster import components
from cli.cluster.layout import Layout
from cli.cluster.nodes import recorded_nodes
from cli.cluster.processes import Record
from cli.errors import CliError


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUG_HOME", str(tmp_path))


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_three_etcd_members_each_know_all_peers_and_every_master_lists_them():
    layout = Layout("dev", base_port=7000, etcd_members=3)
    members = components.etcd_cluster(layout, "/usr/bin/etcd")
    assert [m.name for m in members] == ["etcd-0", "etcd-1", "etcd-2"]
    peers = {_flag(m.argv, "--initial-cluster") for m in members}
    assert peers == {
        "dev-etcd-0=http://127.0.0.1:7021,dev-etcd-1=http://127.0.0.1:7023,"
        "dev-etcd-2=http://127.0.0.1:7025"
    }
    assert len({_flag(m.argv, "--data-dir") for m in members}) == 3
    api = components.apiserver(layout, 0)
    assert _flag(api.argv, "--etcd-servers") == "127.0.0.1:7020,127.0.0.1:7022,127.0.0.1:7024"


def test_one_etcd_member_keeps_the_single_member_name_and_directory():
    layout = Layout("dev", base_port=7000)
    (member,) = components.etcd_cluster(layout, "/usr/bin/etcd")
    assert member.name == "etcd"
    assert _flag(member.argv, "--data-dir") == str(layout.etcd_data)


def test_each_node_runs_on_its_own_loopback_address_with_the_same_ports():
    layout = Layout("dev", base_port=7000, nodes=3, node_address_base="127.0.3.2")
    kubelets = [components.kubelet(layout, j) for j in range(3)]
    assert [k.host for k in kubelets] == ["127.0.3.2", "127.0.3.3", "127.0.3.4"]
    assert {tuple(k.ports) for k in kubelets} == {(7050, 7051)}
    assert [_flag(k.argv, "--node-name") for k in kubelets] == [
        "dev-node-0",
        "dev-node-1",
        "dev-node-2",
    ]
    # Nearest API server first: the nodes spread over the masters.
    assert [_flag(k.argv, "--server").split(",")[0] for k in kubelets] == [
        "127.0.0.1:7000",
        "127.0.0.1:7001",
        "127.0.0.1:7002",
    ]
    proxy = components.proxy(layout, 1)
    assert (proxy.host, _flag(proxy.argv, "--address")) == ("127.0.3.3", "127.0.3.3")


def test_the_default_cluster_names_its_nodes_tug_node():
    assert Layout("local", nodes=2).node_name(1) == "tug-node-1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"node_address_base": "10.0.0.2"}, "--node-address: 10.0.0.2"),
        ({"node_address_base": "localhost"}, "--node-address: 'localhost' is not"),
        ({"etcd_members": 0}, "--etcd-members: must be between 1"),
        ({"nodes": 3, "node_address_base": "127.255.255.254"}, "--node-address"),
    ],
)
def test_bad_node_and_etcd_options_name_the_flag(args, message):
    with pytest.raises(CliError, match=message):
        Layout("dev", **args)


def test_tug_down_finds_the_nodes_in_the_recorded_command_lines():
    layout = Layout("dev", base_port=7000, nodes=2)
    records = [
        Record(c.name, 1, 1, c.argv, "log")
        for c in [components.apiserver(layout, 0), *(components.kubelet(layout, j) for j in (0, 1))]
    ]
    assert recorded_nodes(records) == [
        ("dev-node-0", str(layout.node_root(0))),
        ("dev-node-1", str(layout.node_root(1))),
    ]
