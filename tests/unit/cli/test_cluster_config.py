"""A container cluster described in kind's spirit: what it makes, and every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.cluster.clusterconfig import PortMapping, from_flags, load
from cli.errors import CliError

GOOD = """\
apiVersion: tugboat/v1alpha1
kind: Cluster
name: demo
etcdMembers: 1
nodes:
- role: control-plane
- role: master
- role: worker
  labels: {disktype: ssd}
  taints: [{key: dedicated, value: db, effect: NoSchedule}]
  extraPortMappings:
  - {containerPort: 30080, hostPort: 8080}
- role: worker
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    return path


def test_a_file_names_masters_workers_labels_taints_and_port_mappings(tmp_path: Path) -> None:
    spec = load(_write(tmp_path, GOOD))
    assert (spec.name, len(spec.masters), len(spec.workers), spec.etcd_members) == (
        "demo",
        2,
        2,
        1,
    )
    first = spec.workers[0]
    assert first.labels == {"disktype": "ssd"}
    assert first.taints == (("dedicated", "db", "NoSchedule"),)
    assert first.port_mappings == (PortMapping(30080, 8080, "127.0.0.1", "TCP"),)
    assert first.port_mappings[0].publish() == "127.0.0.1:8080:30080/tcp"
    assert first.kubelet_flags() == [
        "--node-labels",
        "disktype=ssd",
        "--register-with-taints",
        "dedicated=db:NoSchedule",
    ]
    assert spec.workers[1].kubelet_flags() == []


def test_etcd_runs_on_every_master_unless_told_otherwise() -> None:
    assert from_flags(3, 2, None).etcd_members == 3
    assert from_flags(7, 0, None).etcd_members == 5
    assert from_flags(3, 2, 1).etcd_members == 1


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("kind: Cluster", "kind: Pod"), 'kind: must be "Cluster"'),
        (("apiVersion: tugboat/v1alpha1", "apiVersion: v1"), "apiVersion: must be"),
        (("- role: master\n", "- role: boss\n"), 'nodes[1].role: Unsupported value "boss"'),
        (("effect: NoSchedule", "effect: Sometimes"), 'nodes[2].taints[0].effect: Unsupported'),
        (("disktype: ssd", "disk type: ssd"), "nodes[2].labels[disk type]"),
        (("hostPort: 8080", "hostPort: 80800"), "nodes[2].extraPortMappings[0].hostPort"),
        (("hostPort: 8080}", "hostPort: 8080, listenAddress: here}"), "listenAddress"),
        (("etcdMembers: 1", "etcdMembers: 3"), "etcdMembers: must be a whole number from 1 to 2"),
        (("name: demo", "name: demo\nworkers: 3"), "workers: unknown field"),
        (("- role: worker\n  labels", "- role: worker\n  lables"), "nodes[2].lables: unknown"),
    ],
    ids=[
        "wrong-kind",
        "wrong-api-version",
        "unknown-role",
        "bad-taint-effect",
        "bad-label-key",
        "port-out-of-range",
        "bad-listen-address",
        "more-etcd-than-masters",
        "unknown-top-field",
        "misspelt-node-field",
    ],
)
def test_a_mistake_names_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(CliError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


def test_a_cluster_without_a_master_is_refused(tmp_path: Path) -> None:
    text = "apiVersion: tugboat/v1alpha1\nkind: Cluster\nnodes: [{role: worker}]\n"
    path = _write(tmp_path, text)
    with pytest.raises(CliError, match="needs 1 to 9 masters, has 0"):
        load(path)


@pytest.mark.parametrize(
    ("masters", "workers", "etcd", "flag"),
    [(0, 1, None, "--masters"), (1, 101, None, "--workers"), (3, 1, 4, "--etcd-members")],
)
def test_flags_out_of_range_are_refused_naming_the_flag(
    masters: int, workers: int, etcd: int | None, flag: str
) -> None:
    with pytest.raises(CliError, match=flag):
        from_flags(masters, workers, etcd)
