"""Owners' syncs read each version of a pod once: the facts of a pod are reused while its
resourceVersion holds, worked out again when it changes, and forgotten with the pod."""

from __future__ import annotations

from master.controllers.pod_facts import PodFactsCache
from proto import core_pb2


def pod(name: str, version: str, ready: bool = False, owner: str = "") -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name, p.metadata.namespace = name, "default"
    p.metadata.resource_version = version
    p.metadata.labels["app"] = "web"
    if owner:
        ref = p.metadata.owner_references.add()
        ref.kind, ref.name, ref.uid, ref.controller = "ReplicaSet", "web", owner, True
    if ready:
        c = p.status.conditions.add()
        c.type, c.status = "Ready", "True"
    return p


def test_a_pods_facts_are_reused_until_its_version_changes() -> None:
    cache = PodFactsCache()
    [first] = cache.of("default", [pod("a", "5", owner="rs-1")])
    assert (first.controller_uid, first.active, first.ready, first.labels) == (
        "rs-1",
        True,
        False,
        {"app": "web"},
    )
    [again] = cache.of("default", [pod("a", "5", owner="rs-1")])
    assert again is first
    [changed] = cache.of("default", [pod("a", "6", ready=True, owner="rs-1")])
    assert changed is not first and changed.ready
    assert cache.get(pod("a", "6", ready=True, owner="rs-1")) is changed


def test_a_pod_without_a_version_is_always_read_afresh() -> None:
    cache = PodFactsCache()
    [first] = cache.of("default", [pod("a", "")])
    [again] = cache.of("default", [pod("a", "", ready=True)])
    assert again is not first and again.ready


def test_a_pod_no_longer_listed_leaves_the_table() -> None:
    cache = PodFactsCache()
    [gone] = cache.of("default", [pod("a", "5")])
    cache.of("default", [pod("b", "7")])
    assert cache.get(pod("a", "5")) is not gone
    cache.of("default", [])
    assert cache._namespaces == {}
