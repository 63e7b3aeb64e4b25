"""Rolling-update arithmetic, hashing and revisions, table-tested against Kubernetes' rules."""

from __future__ import annotations

import pytest

from master.controllers import deployment_util as du
from proto import core_pb2, meta_pb2, workloads_pb2


def ios(value: int | str) -> meta_pb2.IntOrString:
    return (
        meta_pb2.IntOrString(int_val=value)
        if isinstance(value, int)
        else meta_pb2.IntOrString(str_val=value)
    )


@pytest.mark.parametrize(
    ("value", "total", "up", "expected"),
    [
        (3, 10, True, 3),
        ("25%", 10, True, 3),  # 2.5 rounds up for surge
        ("25%", 10, False, 2),  # and down for unavailable
        ("100%", 7, False, 7),
        ("0%", 7, True, 0),
        ("1%", 1, True, 1),
        ("1%", 1, False, 0),
    ],
    ids=lambda v: str(v),
)
def test_int_or_percent_scales_with_kubernetes_rounding(
    value: int | str, total: int, up: bool, expected: int
) -> None:
    assert du.scaled_value(ios(value), total, up) == expected


def test_a_malformed_percentage_is_refused() -> None:
    with pytest.raises(ValueError, match="percentage"):
        du.scaled_value(ios("ten"), 10, True)


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        (1, 0, 10, (1, 0)),
        ("25%", "25%", 10, (3, 2)),
        (0, 0, 10, (0, 1)),  # both zero would never progress
        ("0%", "10%", 5, (0, 1)),  # 0.5 rounds down to 0, then becomes 1
    ],
)
def test_fenceposts(
    surge: int | str, unavailable: int | str, desired: int, expected: tuple[int, int]
) -> None:
    assert du.resolve_fenceposts(ios(surge), ios(unavailable), desired) == expected


def deployment(
    replicas: int, surge: int | str = 1, unavailable: int | str = 0
) -> workloads_pb2.Deployment:
    d = workloads_pb2.Deployment()
    d.spec.replicas = replicas
    d.spec.strategy.type = "RollingUpdate"
    d.spec.strategy.rolling_update.max_surge.CopyFrom(ios(surge))
    d.spec.strategy.rolling_update.max_unavailable.CopyFrom(ios(unavailable))
    return d


def rs(
    name: str, replicas: int, available: int, created: str = "2024-01-01T00:00:00Z"
) -> workloads_pb2.ReplicaSet:
    r = workloads_pb2.ReplicaSet()
    r.metadata.name = name
    r.metadata.creation_timestamp = created
    r.spec.replicas = replicas
    r.status.replicas = replicas
    r.status.available_replicas = available
    return r


def test_the_new_replica_set_waits_until_the_shrunk_old_one_reports_its_pods_gone() -> None:
    d = deployment(10, 1, 0)
    new_rs = rs("new", 1, 1)
    shrunk = rs("old", 9, 9)
    shrunk.status.replicas = 10  # told to shrink; its tenth pod not deleted yet
    assert du.new_rs_replicas(d, [shrunk, new_rs], new_rs) == 1
    shrunk.status.replicas = 9
    assert du.new_rs_replicas(d, [shrunk, new_rs], new_rs) == 2


@pytest.mark.parametrize(
    ("replicas", "surge", "old", "new", "expected"),
    [
        (10, 1, 10, 0, 1),  # room for exactly the surge
        (10, 1, 10, 1, 1),  # at replicas + surge: wait
        (10, 1, 9, 1, 2),
        (10, 3, 10, 0, 3),
        (10, 3, 0, 8, 10),  # never above replicas
        (10, 0, 10, 0, 0),
    ],
)
def test_the_new_replica_set_grows_up_to_replicas_plus_surge(
    replicas: int, surge: int, old: int, new: int, expected: int
) -> None:
    d = deployment(replicas, surge, 0 if surge else 1)
    new_rs = rs("new", new, new)
    assert du.new_rs_replicas(d, [rs("old", old, old), new_rs], new_rs) == expected


@pytest.mark.parametrize(
    ("old", "new", "new_available", "unavailable", "budget"),
    [
        (10, 1, 0, 0, 0),  # new pod not available yet: nothing may go
        (10, 1, 1, 0, 1),
        (10, 0, 0, 2, 2),
        (8, 2, 0, 2, 0),  # two unavailable new pods use the whole budget
    ],
)
def test_old_replicas_go_only_while_availability_holds(
    old: int, new: int, new_available: int, unavailable: int, budget: int
) -> None:
    d = deployment(10, 1 if unavailable == 0 else 0, unavailable)
    new_rs = rs("new", new, new_available)
    assert du.old_scale_down_budget(d, [rs("old", old, old), new_rs], new_rs) == budget


def test_unhealthy_old_replicas_are_dropped_first_oldest_replica_set_first() -> None:
    older = rs("older", 3, 1, "2024-01-01T00:00:00Z")
    old = rs("old", 4, 2, "2024-01-02T00:00:00Z")
    plan, dropped, stale = du.cleanup_unhealthy([old, older], 3)
    assert plan == {"older": 1, "old": 3}
    assert dropped == 3
    assert not stale


def test_available_old_replicas_are_scaled_down_to_the_minimum_available() -> None:
    d = deployment(10, 1, 0)
    old = rs("old", 10, 10)
    new = rs("new", 1, 1)
    assert du.scale_down_old(d, [old, new], [old]) == {"old": 9}
    assert du.scale_down_old(d, [rs("old", 10, 9), rs("new", 1, 1)], [old]) == {}


def template(image: str, hash_label: str | None = None) -> core_pb2.PodTemplateSpec:
    t = core_pb2.PodTemplateSpec()
    t.metadata.labels["app"] = "web"
    if hash_label:
        t.metadata.labels[du.POD_TEMPLATE_HASH] = hash_label
    t.spec.containers.add(name="main", image=image)
    return t


def test_the_template_hash_ignores_its_own_label_and_changes_with_the_template() -> None:
    h = du.pod_template_hash(template("a"))
    assert h == du.pod_template_hash(template("a", hash_label=h))
    assert h != du.pod_template_hash(template("b"))
    assert h != du.pod_template_hash(template("a"), collision_count=1)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert du.equal_ignore_hash(template("a", "x"), template("a"))
    assert not du.equal_ignore_hash(template("a"), template("b"))


def test_fnv32a_matches_the_reference_vectors() -> None:
    assert du.fnv32a(b"") == 0x811C9DC5
    assert du.fnv32a(b"a") == 0xE40C292C
    assert du.fnv32a(b"foobar") == 0xBF9CF968


def test_completion_needs_every_replica_updated_available_and_observed() -> None:
    d = deployment(3)
    d.metadata.generation = 2
    s = workloads_pb2.DeploymentStatus(
        replicas=3, updated_replicas=3, available_replicas=3, observed_generation=2
    )
    assert du.is_complete(d, s)
    s.observed_generation = 1
    assert not du.is_complete(d, s)
    s.observed_generation, s.replicas = 2, 4
    assert not du.is_complete(d, s)


def test_revisions_read_from_annotations() -> None:
    a, b = rs("a", 0, 0), rs("b", 0, 0)
    a.metadata.annotations[du.REVISION] = "3"
    b.metadata.annotations[du.REVISION] = "junk"
    assert du.max_revision([a, b]) == 3
    assert du.revision(b) == 0


def annotated(r: workloads_pb2.ReplicaSet, desired: int, most: int) -> workloads_pb2.ReplicaSet:
    r.metadata.annotations[du.DESIRED_REPLICAS] = str(desired)
    r.metadata.annotations[du.MAX_REPLICAS] = str(most)
    return r


def test_scaling_mid_rollout_spreads_new_replicas_in_proportion() -> None:
    # Kubernetes' documented example: 10 replicas, maxSurge 3, maxUnavailable 2, a stuck
    # rollout with 8 old and 5 new; scaled to 15, the old ReplicaSet gets 3 and the new 2.
    d = deployment(15, 3, 2)
    old = annotated(rs("old", 8, 8, "2024-01-01T00:00:00Z"), 10, 13)
    new = annotated(rs("new", 5, 0, "2024-01-02T00:00:00Z"), 10, 13)
    assert du.is_scaling_event(d, [old, new])
    assert du.active_or_latest(new, [old]) is None
    assert du.proportional_sizes(d, [old, new]) == {"old": 11, "new": 7}


def test_scaling_down_mid_rollout_takes_from_both_and_never_below_zero() -> None:
    d = deployment(5, 1, 0)
    old = annotated(rs("old", 8, 8, "2024-01-01T00:00:00Z"), 10, 11)
    new = annotated(rs("new", 3, 0, "2024-01-02T00:00:00Z"), 10, 11)
    sizes = du.proportional_sizes(d, [old, new])
    assert sum(sizes.values()) == 6  # 5 + surge 1
    assert all(v >= 0 for v in sizes.values())
    assert sizes["old"] < 8 and sizes["new"] < 3


def test_one_active_replica_set_takes_every_replica() -> None:
    old = rs("old", 0, 0)
    new = rs("new", 4, 4)
    assert du.active_or_latest(new, [old]) is new
    assert du.active_or_latest(rs("n", 0, 0), [old]) is not None
