"""RuntimeClass admission: what a new pod naming a class is given (overhead, nodeSelector,
tolerations) and when it is refused, in Kubernetes' words."""

from __future__ import annotations

from typing import Any

import pytest

from client import errors
from client.codec import from_dict, to_dict
from master.apiserver.admission import runtimeclass
from proto import core_pb2, node_pb2
from tests.unit.apiserver.validation.cases import VALID

WHAT = 'pods "web"'


def klass() -> node_pb2.RuntimeClass:
    """The validation tests' class: overhead 250m and 120Mi, nodeSelector runtime=kata,
    a toleration of kata:NoSchedule."""
    return from_dict(node_pb2.RuntimeClass, VALID["RuntimeClass"])


def a_pod(**spec: Any) -> core_pb2.Pod:
    body = {"containers": [{"name": "app", "image": "busybox:1.35"}], **spec}
    return from_dict(core_pb2.Pod, {"metadata": {"name": "web"}, "spec": body})


def refusal(pod: core_pb2.Pod, found: node_pb2.RuntimeClass | None) -> str:
    with pytest.raises(errors.Forbidden) as refused:
        runtimeclass.admit(pod, found, WHAT)
    return str(refused.value)


def test_a_pod_gets_its_classs_overhead_node_selector_and_tolerations():
    pod = a_pod(
        runtimeClassName="kata",
        nodeSelector={"disk": "ssd"},
        tolerations=[{"key": "gpu", "operator": "Exists"}],
    )
    runtimeclass.admit(pod, klass(), WHAT)
    spec = to_dict(pod)["spec"]
    assert spec["overhead"] == {"cpu": "250m", "memory": "120Mi"}
    assert spec["nodeSelector"] == {"disk": "ssd", "runtime": "kata"}
    assert spec["tolerations"] == [
        {"key": "gpu", "operator": "Exists"},
        {"key": "kata", "operator": "Exists", "effect": "NoSchedule"},
    ]


def test_a_pod_naming_a_missing_class_is_refused():
    assert refusal(a_pod(runtimeClassName="gone"), None) == (
        'pods "web" is forbidden: pod rejected: RuntimeClass "gone" not found'
    )


def test_a_pod_bringing_another_overhead_is_refused_and_the_same_one_in_other_words_is_not():
    assert refusal(a_pod(runtimeClassName="kata", overhead={"cpu": "1"}), klass()) == (
        "pods \"web\" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's "
        "defined Overhead"
    )
    same = a_pod(runtimeClassName="kata", overhead={"cpu": "0.25", "memory": "120Mi"})
    runtimeclass.admit(same, klass(), WHAT)
    assert dict(same.spec.overhead) == {"cpu": "250m", "memory": "120Mi"}


@pytest.mark.parametrize("named", [False, True], ids=["no-class", "class-without-overhead"])
def test_a_pod_with_an_overhead_no_class_defines_is_refused(named):
    plain = klass()
    plain.ClearField("overhead")
    spec: dict[str, Any] = {"overhead": {"cpu": "1"}}
    if named:
        spec["runtimeClassName"] = "plain"
    assert refusal(a_pod(**spec), plain if named else None) == (
        'pods "web" is forbidden: pod rejected: Pod Overhead set without corresponding '
        "RuntimeClass defined Overhead"
    )


def test_a_node_selector_key_the_class_sets_otherwise_is_refused():
    pod = a_pod(runtimeClassName="kata", nodeSelector={"runtime": "runc"})
    assert refusal(pod, klass()) == (
        'pods "web" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[runtime] = '
        "kata; pod.spec.nodeSelector[runtime] = runc"
    )


def test_a_pod_without_a_class_is_left_alone():
    pod = a_pod(nodeSelector={"disk": "ssd"})
    before = to_dict(pod)
    runtimeclass.admit(pod, None, WHAT)
    assert to_dict(pod) == before


def toleration(**fields: Any) -> core_pb2.Toleration:
    return from_dict(core_pb2.Toleration, fields)


@pytest.mark.parametrize(
    ("first", "second", "kept"),
    [
        # A class's toleration the pod already has is not added twice.
        ([{"key": "a", "operator": "Exists"}], [{"key": "a", "operator": "Exists"}], [0]),
        # One for every effect covers one for a single effect, whichever list it is in.
        (
            [{"key": "a", "operator": "Exists", "effect": "NoSchedule"}],
            [{"key": "a", "operator": "Exists"}],
            [1],
        ),
        # Exists with no key tolerates everything.
        ([{"key": "a", "operator": "Equal", "value": "x"}], [{"operator": "Exists"}], [1]),
        # A shorter NoExecute stay is covered by a longer one, not the other way round.
        (
            [{"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}],
            [{"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
            [0],
        ),
        (
            [{"key": "a", "operator": "Equal", "value": "x"}],
            [{"key": "a", "operator": "Equal", "value": "y"}],
            [0, 1],
        ),
    ],
    ids=["equal", "all-effects", "match-all", "longer-stay", "different-values"],
)
def test_tolerations_merge_as_kubernetes_merges_them(first, second, kept):
    ones, twos = [toleration(**t) for t in first], [toleration(**t) for t in second]
    every = [*ones, *twos]
    assert runtimeclass.merge_tolerations(ones, twos) == [every[i] for i in kept]
