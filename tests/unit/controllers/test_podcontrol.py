"""PodControl's batches keep a controller's expectations true, whatever the API answers."""

from __future__ import annotations

from typing import Any, cast

import pytest

from client.api import ApiClient
from client.errors import Conflict, Invalid
from client.events import EventRecorder
from master.controllers.expectations import Expectations
from master.controllers.podcontrol import PodControl
from proto import core_pb2, workloads_pb2

KEY = "default/web"


class FakeApi:
    """Creates succeed until `fail_after` have; deletes of pods named in `refuse` fail."""

    def __init__(self, fail_after: int = 1_000, refuse: tuple[str, ...] = ()) -> None:
        self.fail_after = fail_after
        self.refuse = refuse
        self.created: list[core_pb2.Pod] = []
        self.deleted: list[str] = []

    async def create(self, pod: core_pb2.Pod) -> core_pb2.Pod:
        if len(self.created) >= self.fail_after:
            raise Invalid("pods is forbidden: exceeded quota")
        pod.metadata.name = f"web-{len(self.created)}"
        self.created.append(pod)
        return pod

    async def delete(self, resource: str, namespace: str, name: str, **_: Any) -> None:
        if name in self.refuse:
            raise Conflict("the object has been modified")
        self.deleted.append(name)


class NoEvents:
    async def record(self, *args: object) -> None:
        pass


def _control(api: FakeApi) -> tuple[PodControl, Expectations]:
    expectations = Expectations()
    control = PodControl(
        cast(ApiClient, api), cast(EventRecorder, NoEvents()), expectations
    )
    return control, expectations


def _owner() -> workloads_pb2.ReplicaSet:
    rs = workloads_pb2.ReplicaSet(api_version="apps/v1", kind="ReplicaSet")
    rs.metadata.name, rs.metadata.namespace, rs.metadata.uid = "web", "default", "u1"
    return rs


def _pod(name: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace, pod.metadata.uid = name, "default", name
    return pod


async def test_created_pods_are_expected_until_the_cache_sees_them() -> None:
    api = FakeApi()
    control, expectations = _control(api)
    await control.create_pods(KEY, _owner(), 5, core_pb2.Pod)
    assert len(api.created) == 5
    assert expectations.pending(KEY) == (5, 0)
    assert not expectations.satisfied(KEY)


async def test_pods_never_created_are_no_longer_expected_and_the_error_is_raised() -> None:
    api = FakeApi(fail_after=3)
    control, expectations = _control(api)
    with pytest.raises(Invalid):
        await control.create_pods(KEY, _owner(), 10, core_pb2.Pod)
    # Slow start: batches of 1 and 2 succeed, the batch of 4 fails, the rest is never sent.
    assert len(api.created) == 3
    assert expectations.pending(KEY) == (3, 0)


async def test_a_pod_whose_deletion_failed_is_no_longer_expected_to_go() -> None:
    api = FakeApi(refuse=("b",))
    control, expectations = _control(api)
    with pytest.raises(Conflict):
        await control.delete_pods(KEY, _owner(), [_pod("a"), _pod("b"), _pod("c")])
    assert sorted(api.deleted) == ["a", "c"]
    assert expectations.pending(KEY) == (0, 2)
