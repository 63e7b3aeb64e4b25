"""ComponentStatuses from probes: a probe's result as kube-apiserver's Healthy condition,
etcd's /health judged as Kubernetes judges it, Go's words for a connection that never
opened, the registered instances of a component and the one answer chosen among them,
the refusals of every other verb, and the row kubectl's printer makes of each."""

from __future__ import annotations

import errno
import socket
from datetime import UTC, datetime

import pytest

from client.printing import columns
from master.apiserver.componentstatus import (
    DEPRECATION,
    FAILURE,
    SUCCESS,
    UNKNOWN,
    Instance,
    Probe,
    _dial_error,
    component_status,
    condition_of,
    etcd_health_check,
    instances,
    not_allowed,
    pick,
)
from master.registration import ADDRESS_ANNOTATION, COMPONENT_LABEL, SCHEME_ANNOTATION, STALE_AFTER
from proto import workloads_pb2

NOW = 1_800_000_000.0
REFUSED = 'Get "http://127.0.0.1:1/healthz": dial tcp 127.0.0.1:1: connect: connection refused'


@pytest.mark.parametrize(
    ("probe", "status"),
    [
        (Probe(SUCCESS, "ok"), "True"),
        (Probe(FAILURE, REFUSED), "False"),
        (Probe(UNKNOWN, "", "failed to construct probe request"), "Unknown"),
    ],
    ids=["success", "failure", "unknown"],
)
def test_a_probe_is_one_healthy_condition(probe: Probe, status: str) -> None:
    found = condition_of(probe)
    assert (found.type, found.status, found.message, found.error) == (
        "Healthy",
        status,
        probe.message,
        probe.error,
    )


def test_a_component_status_is_named_and_carries_its_condition() -> None:
    found = component_status("etcd-0", Probe(SUCCESS, '{"health":"true"}'))
    assert (found.api_version, found.kind, found.metadata.name) == (
        "v1",
        "ComponentStatus",
        "etcd-0",
    )
    assert [c.status for c in found.conditions] == ["True"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('{"health":"true"}', None),
        ('{"health":"true","reason":""}', None),
        ('{"health":"false","reason":"RAFT NO LEADER"}', "Unhealthy status: false"),
        ('["health"]', "'list' object has no attribute 'get'"),
    ],
    ids=["etcd-3.4", "etcd-3.5", "no-leader", "not-an-object"],
)
def test_etcds_health_is_judged_as_kubernetes_judges_it(body: str, error: str | None) -> None:
    assert etcd_health_check(body) == error


def test_an_answer_that_is_not_json_is_an_error() -> None:
    assert etcd_health_check("ok") is not None


@pytest.mark.parametrize(
    ("cause", "text"),
    [
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"),
            "dial tcp 10.0.0.1:10259: connect: connection refused",
        ),
        (
            OSError(errno.EHOSTUNREACH, "unreachable"),
            "dial tcp 10.0.0.1:10259: connect: no route to host",
        ),
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "dial tcp: lookup 10.0.0.1: no such host",
        ),
    ],
    ids=["refused", "no-route", "no-such-host"],
)
def test_a_connection_that_never_opened_is_told_in_gos_words(cause: OSError, text: str) -> None:
    assert _dial_error("10.0.0.1", 10259, cause) == text


def _registration(
    name: str,
    component: str,
    address: str,
    *,
    renewed: float = NOW,
    scheme: str = "",
) -> workloads_pb2.Lease:
    lease = workloads_pb2.Lease()
    lease.metadata.name = f"tugboat-{component}-{name}"
    lease.metadata.labels[COMPONENT_LABEL] = component
    lease.metadata.annotations[ADDRESS_ANNOTATION] = address
    if scheme:
        lease.metadata.annotations[SCHEME_ANNOTATION] = scheme
    lease.spec.holder_identity = name
    lease.spec.renew_time = datetime.fromtimestamp(renewed, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return lease


def test_the_registered_instances_of_a_component_are_probed_at_their_status_ports() -> None:
    leases = [
        _registration("m2", "tug-scheduler", "127.0.0.2:10259"),
        _registration("m1", "tug-scheduler", "127.0.0.1:10259", scheme="https"),
        _registration("cm", "tug-controller-manager", "127.0.0.1:10257"),
        _registration("gone", "tug-scheduler", "127.0.0.3:10259", renewed=NOW - STALE_AFTER - 1),
    ]
    assert instances(leases, "tug-scheduler", NOW) == [
        Instance("m1", "https://127.0.0.1:10259/healthz", True),
        Instance("m2", "http://127.0.0.2:10259/healthz", False),
    ]


A, B = Instance("a", "http://a/healthz", False), Instance("b", "http://b/healthz", False)
OK_A, OK_B = Probe(SUCCESS, "ok from a"), Probe(SUCCESS, "ok from b")
DOWN_A, DOWN_B = Probe(FAILURE, "a refused"), Probe(FAILURE, "b refused")


@pytest.mark.parametrize(
    ("probes", "leader", "chosen"),
    [
        ([(A, OK_A), (B, OK_B)], "b", OK_B),
        ([(A, OK_A), (B, DOWN_B)], "b", OK_A),
        ([(A, DOWN_A), (B, DOWN_B)], "b", DOWN_B),
        ([(A, DOWN_A), (B, DOWN_B)], "", DOWN_A),
        ([(A, DOWN_A), (B, OK_B)], "", OK_B),
    ],
    ids=[
        "the-elected-answer",
        "any-healthy-one-when-the-elected-fails",
        "the-elected-failure",
        "the-first-failure-without-a-leader",
        "a-healthy-standby-without-a-leader",
    ],
)
def test_one_answer_is_chosen_among_a_components_instances(
    probes: list[tuple[Instance, Probe]], leader: str, chosen: Probe
) -> None:
    assert pick(probes, leader) == chosen


@pytest.mark.parametrize(
    ("verb", "message"),
    [
        ("watch", 'watch is not supported on resources of kind "componentstatuses"'),
        ("create", "the server does not allow this method on the requested resource"),
        ("delete", "the server does not allow this method on the requested resource"),
    ],
)
def test_every_verb_but_get_and_list_is_method_not_allowed(verb: str, message: str) -> None:
    refusal = not_allowed(verb)
    assert (refusal.http_code, refusal.reason, refusal.message) == (
        405,
        "MethodNotAllowed",
        message,
    )


def test_the_deprecation_warning_is_kubernetes() -> None:
    assert DEPRECATION == "v1 ComponentStatus is deprecated in v1.19+"


@pytest.mark.parametrize(
    ("probe", "cells"),
    [
        (Probe(SUCCESS, "ok"), ["scheduler", "Healthy", "ok", ""]),
        (Probe(FAILURE, REFUSED), ["scheduler", "Unhealthy", REFUSED, ""]),
        (Probe(UNKNOWN, "", "boom"), ["scheduler", "Unhealthy", "", "boom"]),
    ],
    ids=["healthy", "refused", "unknown"],
)
def test_kubectls_row_of_a_component(probe: Probe, cells: list[str]) -> None:
    at = datetime.fromtimestamp(NOW, UTC)
    found = component_status("scheduler", probe)
    assert columns.header("componentstatuses", wide=False, all_namespaces=False) == [
        "NAME",
        "STATUS",
        "MESSAGE",
        "ERROR",
    ]
    assert columns.row("componentstatuses", found, at, wide=False, all_namespaces=False) == cells


def test_a_component_without_a_healthy_condition_is_unknown() -> None:
    found = component_status("scheduler", Probe(SUCCESS, "ok"))
    del found.conditions[:]
    at = datetime.fromtimestamp(NOW, UTC)
    assert columns.row("componentstatuses", found, at, wide=False, all_namespaces=False) == [
        "scheduler",
        "Unknown",
        "",
        "",
    ]
