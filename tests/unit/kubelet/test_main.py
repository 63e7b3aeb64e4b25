"""`tug-kubelet` flags: defaults, simulated nodes and errors that name the flag."""

from __future__ import annotations

import pytest

from client.api import ApiClient
from kubelet.main import build_kubelets, node_names, parse_args

BASE = ["--node-name", "n1", "--address", "127.0.0.2", "--server", "127.0.0.1:6443"]


def test_defaults_follow_the_issue():
    opts = parse_args(BASE)
    assert (opts.port, opts.lease_period, opts.runtime) == (10250, 2.0, "docker")
    assert opts.pods.crash_backoff_initial == 10 and opts.pods.crash_backoff_max == 300
    assert node_names(opts) == ["n1"]
    assert opts.root_dir.name == "kubelet-n1"


def test_pod_ips_come_from_the_nodes_pod_cidr_unless_told_otherwise():
    opts = parse_args(BASE)
    assert opts.network.pod_cidr_mode == "node" and not opts.network.host_gw
    assert opts.network.cluster_cidr == "172.30.0.0/16"
    assert parse_args([*BASE, "--pod-cidr-mode", "docker"]).network.pod_cidr_mode == "docker"


def test_simulated_nodes_get_numbered_names():
    opts = parse_args([*BASE, "--runtime", "fake", "--simulate", "3"])
    assert node_names(opts) == ["n1-0", "n1-1", "n1-2"]


async def test_simulated_nodes_share_one_service_and_node_watch_and_a_real_node_runs_its_own(
    tmp_path,
):
    # A thousand simulated nodes each watching Services cost the API server a thousand
    # watches and a thousand lists at start, for the same objects; each GETting its Node
    # every status check cost a hundred requests a second.
    api = ApiClient(["127.0.0.1:1"])
    try:
        sim = [*BASE, "--runtime", "fake", "--simulate", "3", "--root-dir", str(tmp_path)]
        kubelets, shared = build_kubelets(parse_args(sim), api)
        services, nodes = shared
        assert (services.resource, nodes.resource) == ("services", "nodes")
        assert all(k.services is services and k.nodes is nodes for k in kubelets)
        one = [*BASE, "--runtime", "fake", "--root-dir", str(tmp_path)]
        (kubelet,), none = build_kubelets(parse_args(one), api)
        assert none == [] and kubelet.services is not services and kubelet.nodes is None
    finally:
        await api.close()


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--simulate", "5"], "--simulate"),
        (["--server", "nohostport"], "--server"),
        (["--lease-period", "0"], "--lease-period"),
        (["--crash-backoff", "20", "--crash-backoff-max", "10"], "--crash-backoff"),
        (["--cluster-cidr", "172.30.0.1/16"], "--cluster-cidr"),
        (["--host-gw", "--pod-cidr-mode", "docker"], "--host-gw"),
    ],
    ids=[
        "simulate-needs-fake",
        "bad-server",
        "zero-lease",
        "backoff-order",
        "bad-cluster-cidr",
        "host-gw-needs-node-mode",
    ],
)
def test_bad_flags_are_refused_naming_the_flag(extra, flag, capsys):
    with pytest.raises(SystemExit):
        parse_args([*BASE, *extra])
    assert flag in capsys.readouterr().err


def test_removing_containers_needs_no_server():
    opts = parse_args(["--node-name", "n1", "--remove-containers"])
    assert opts.remove_containers


def test_node_labels_and_taints_are_taken_as_the_kubelet_takes_them():
    opts = parse_args(
        [
            *BASE,
            "--node-labels",
            "disktype=ssd,example.com/zone=a",
            "--register-with-taints",
            "dedicated=db:NoSchedule,gpu:NoExecute",
        ]
    )
    assert opts.node_labels == {"disktype": "ssd", "example.com/zone": "a"}
    assert [(t.key, t.value, t.effect) for t in opts.register_with_taints] == [
        ("dedicated", "db", "NoSchedule"),
        ("gpu", "", "NoExecute"),
    ]


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--node-labels", "no-value"], "--node-labels"),
        (["--node-labels", "Bad Key=x"], "--node-labels"),
        (["--register-with-taints", "dedicated=db"], "--register-with-taints"),
        (["--register-with-taints", "dedicated=db:Sometimes"], "--register-with-taints"),
    ],
    ids=["label-without-value", "label-bad-key", "taint-without-effect", "taint-bad-effect"],
)
def test_bad_labels_and_taints_are_refused_naming_the_flag(extra, flag, capsys):
    with pytest.raises(SystemExit):
        parse_args([*BASE, *extra])
    assert flag in capsys.readouterr().err
