"""Endpoints packing, Job counting, DaemonSet placement, IPAM ranges, expectations, flags."""

from __future__ import annotations

import argparse

import pytest

from master.controllers import daemonset as dsc
from master.controllers import job as jobc
from master.controllers.endpoints import endpoint_subsets, find_port
from master.controllers.expectations import Expectations
from master.controllers.flags import add_flags, settings_from
from master.controllers.nodeipam import CIDRError, first_free
from proto import core_pb2, workloads_pb2


def service(target: int | str, publish: bool = False) -> core_pb2.Service:
    s = core_pb2.Service()
    s.metadata.name = "web"
    port = s.spec.ports.add(name="http", port=80, protocol="TCP")
    if isinstance(target, int):
        port.target_port.int_val = target
    else:
        port.target_port.str_val = target
    s.spec.publish_not_ready_addresses = publish
    return s


def pod(name: str, ip: str, ready: bool, ports: dict[str, int] | None = None) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name = name
    p.status.pod_ip = ip
    p.status.phase = "Running"
    p.status.conditions.add(type="Ready", status="True" if ready else "False")
    c = p.spec.containers.add(name="main")
    for n, number in (ports or {}).items():
        c.ports.add(name=n, container_port=number, protocol="TCP")
    return p


def test_named_target_ports_resolve_per_pod_and_pack_into_subsets() -> None:
    pods = [
        pod("a", "10.0.0.2", True, {"http": 8080}),
        pod("b", "10.0.0.1", True, {"http": 8080}),
        pod("c", "10.0.0.3", False, {"http": 9090}),
        pod("d", "10.0.0.4", True, {"other": 1}),
        pod("e", "", True, {"http": 8080}),
    ]
    subsets = endpoint_subsets(service("http"), pods)
    summary = [
        (
            [a.ip for a in s.addresses],
            [a.ip for a in s.not_ready_addresses],
            [p.port for p in s.ports],
        )
        for s in subsets
    ]
    assert summary == [(["10.0.0.1", "10.0.0.2"], [], [8080]), ([], ["10.0.0.3"], [9090])]


def test_numbered_and_unset_target_ports() -> None:
    p = pod("a", "10.0.0.1", True)
    assert find_port(p, service(8080).spec.ports[0]) == 8080
    unset = core_pb2.ServicePort(port=80)
    assert find_port(p, unset) == 80
    assert find_port(p, service("missing").spec.ports[0]) is None


def test_publish_not_ready_addresses_lists_every_pod_as_ready() -> None:
    subsets = endpoint_subsets(service(80, publish=True), [pod("a", "10.0.0.1", False)])
    assert [a.ip for a in subsets[0].addresses] == ["10.0.0.1"]


def job(completions: int | None, parallelism: int, backoff: int = 6) -> workloads_pb2.Job:
    j = workloads_pb2.Job()
    if completions is not None:
        j.spec.completions = completions
    j.spec.parallelism = parallelism
    j.spec.backoff_limit = backoff
    j.spec.template.spec.restart_policy = "Never"
    return j


@pytest.mark.parametrize(
    ("completions", "parallelism", "succeeded", "active", "want"),
    [
        (5, 2, 0, 0, 2),
        (5, 2, 4, 1, 1),
        (5, 2, 5, 0, 0),
        (None, 3, 0, 0, 3),
        (None, 3, 1, 2, 2),  # work queue: no new pods after a success
    ],
)
def test_job_wanted_active(
    completions: int | None, parallelism: int, succeeded: int, active: int, want: int
) -> None:
    assert jobc.wanted_active(job(completions, parallelism), succeeded, active) == want


def test_job_backoff_limit_counts_failed_pods_or_restarts() -> None:
    assert not jobc.past_backoff_limit(job(1, 1, backoff=1), [], 1)
    assert jobc.past_backoff_limit(job(1, 1, backoff=1), [], 2)
    on_failure = job(1, 1, backoff=2)
    on_failure.spec.template.spec.restart_policy = "OnFailure"
    restarting = pod("a", "10.0.0.1", False)
    restarting.status.container_statuses.add(name="main", restart_count=2)
    assert jobc.past_backoff_limit(on_failure, [restarting], 0)
    assert jobc.is_complete(job(2, 1), 2, 0)
    assert jobc.is_complete(job(None, 2), 1, 0)
    assert not jobc.is_complete(job(None, 2), 1, 1)


def node(labels: dict[str, str], taints: list[core_pb2.Taint] | None = None) -> core_pb2.Node:
    n = core_pb2.Node()
    n.metadata.name = "n1"
    n.metadata.labels.update(labels)
    n.spec.taints.extend(taints or [])
    return n


def test_daemon_pods_go_where_selector_affinity_and_taints_allow() -> None:
    spec = core_pb2.PodSpec()
    spec.node_selector["disk"] = "ssd"
    assert dsc.should_run(spec, node({"disk": "ssd"})) == (True, True)
    assert dsc.should_run(spec, node({"disk": "hdd"})) == (False, False)
    no_schedule = core_pb2.Taint(key="dedicated", value="db", effect="NoSchedule")
    assert dsc.should_run(spec, node({"disk": "ssd"}, [no_schedule])) == (False, True)
    no_execute = core_pb2.Taint(key="dedicated", value="db", effect="NoExecute")
    assert dsc.should_run(spec, node({"disk": "ssd"}, [no_execute])) == (False, False)
    unreachable = core_pb2.Taint(key="node.kubernetes.io/unreachable", effect="NoExecute")
    assert dsc.should_run(spec, node({"disk": "ssd"}, [unreachable])) == (True, True)
    term = (
        spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    ).node_selector_terms.add()
    term.match_expressions.add(key="cores", operator="Gt", values=["4"])
    assert dsc.should_run(spec, node({"disk": "ssd", "cores": "8"}))[0]
    assert not dsc.should_run(spec, node({"disk": "ssd", "cores": "2"}))[0]


def test_daemon_set_max_unavailable_rounds_up() -> None:
    ds = workloads_pb2.DaemonSet()
    ds.spec.update_strategy.rolling_update.max_unavailable.str_val = "10%"
    assert dsc.max_unavailable(ds, 15) == 2
    ds.spec.update_strategy.rolling_update.max_unavailable.int_val = 0
    assert dsc.max_unavailable(ds, 15) == 1


def test_ipam_hands_out_the_lowest_free_range() -> None:
    assert first_free("10.0.0.0/16", 24, []) == "10.0.0.0/24"
    assert first_free("10.0.0.0/16", 24, ["10.0.0.0/24", "10.0.2.0/24"]) == "10.0.1.0/24"
    assert first_free("10.0.0.0/30", 31, ["10.0.0.0/31", "10.0.0.2/31"]) is None
    with pytest.raises(CIDRError, match="--node-cidr-mask-size"):
        first_free("10.0.0.0/16", 8, [])
    with pytest.raises(CIDRError, match="--cluster-cidr"):
        first_free("10.0.0.1/16", 24, [])


def test_expectations_gate_until_observed_and_count_deletions_once() -> None:
    e = Expectations(ttl=300)
    assert e.satisfied("rs")
    e.expect_creations("rs", 2)
    assert not e.satisfied("rs")
    e.creation_observed("rs")
    e.creation_observed("rs")
    assert e.satisfied("rs")
    e.expect_deletions("rs", ["ns/a", "ns/b"])
    e.deletion_observed("rs", "ns/a")
    e.deletion_observed("rs", "ns/a")
    assert e.pending("rs") == (0, 1)
    e.deletion_observed("rs", "ns/b")
    assert e.satisfied("rs")
    expired = Expectations(ttl=-1)
    expired.expect_creations("rs", 1)
    assert expired.satisfied("rs")  # presumed lost after the TTL


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_flags(p)
    return p.parse_args(list(argv))


def test_flags_make_settings_and_bad_ones_name_the_flag() -> None:
    s = settings_from(parse("--node-monitor-grace-period", "40", "--controllers", "job,endpoints"))
    assert s.node_monitor_grace_period == 40
    assert s.controllers == ("job", "endpoints")
    for argv, flag in (
        (("--controllers", "nope"), "--controllers"),
        (("--node-monitor-grace-period", "0"), "--node-monitor-grace-period"),
        (("--cluster-cidr", "10.0.0.0/33"), "--cluster-cidr"),
        (("--unhealthy-zone-threshold", "2"), "--unhealthy-zone-threshold"),
    ):
        with pytest.raises(SystemExit, match=flag):
            settings_from(parse(*argv))


@pytest.mark.parametrize(
    "flag",
    [
        "--node-monitor-period",
        "--node-monitor-grace-period",
        "--node-startup-grace-period",
        "--job-backoff",
        "--pod-updates-batch-period",
    ],
)
def test_a_negative_controller_duration_is_refused_naming_the_flag(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse(f"{flag}=-1")
    assert flag in capsys.readouterr().err


def test_controller_durations_take_kubectl_units() -> None:
    assert settings_from(parse("--node-monitor-grace-period", "1m")).node_monitor_grace_period == 60
    batched = settings_from(parse("--pod-updates-batch-period", "500ms"))
    assert batched.pod_updates_batch_period == 0.5
