"""The ephemeral-volume controller: each generic ephemeral volume of a live pod gets the
claim `<pod>-<volume>`, owned by the pod; a namesake it does not own is left alone and
reported; a claim deleted while its pod lives is made again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest

from client.api import ApiClient, ObjectList, WatchEvent
from client.codec import from_dict
from client.errors import AlreadyExists, NotFound
from master.controllers.base import Context
from master.controllers.ephemeral_volume import (
    EphemeralVolumeController,
    NotOwned,
    claim_for,
)
from master.controllers.metrics import EPHEMERAL_VOLUME_CREATES
from master.controllers.settings import ControllerSettings
from proto import core_pb2
from tests.support.waiting import eventually

CLAIM_SPEC = {
    "accessModes": ["ReadWriteOnce"],
    "storageClassName": "local-path",
    "resources": {"requests": {"storage": "1Gi"}},
}
TEMPLATE = {
    "metadata": {"labels": {"type": "scratch"}, "annotations": {"example.com/why": "cache"}},
    "spec": CLAIM_SPEC,
}


def a_pod(name: str = "web", *, uid: str = "pod-uid", **meta: Any) -> core_pb2.Pod:
    volumes = [
        {"name": "config", "emptyDir": {}},
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": TEMPLATE}},
    ]
    return from_dict(
        core_pb2.Pod,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": uid, **meta},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}], "volumes": volumes},
        },
    )


def a_claim(name: str = "web-scratch", *, owner_uid: str = "") -> core_pb2.PersistentVolumeClaim:
    pvc = core_pb2.PersistentVolumeClaim(api_version="v1", kind="PersistentVolumeClaim")
    pvc.metadata.name, pvc.metadata.namespace = name, "default"
    pvc.metadata.uid = f"uid-{name}"
    if owner_uid:
        pvc.metadata.owner_references.add(
            api_version="v1", kind="Pod", name="web", uid=owner_uid, controller=True
        )
    return pvc


class ClaimApi:
    """Pods and claims listed once, then changed only by events the test sends; creates
    of claims recorded (AlreadyExists for one in `hidden`, a claim the cache never saw),
    Events kept apart."""

    def __init__(self, pods: list[core_pb2.Pod], claims: list[core_pb2.PersistentVolumeClaim]):
        self.listed: dict[str, list[Any]] = {"pods": pods, "persistentvolumeclaims": claims}
        self.watches: dict[str, asyncio.Queue[WatchEvent]] = {
            r: asyncio.Queue() for r in self.listed
        }
        self.created: list[core_pb2.PersistentVolumeClaim] = []
        self.events: list[core_pb2.Event] = []
        self.hidden: dict[str, core_pb2.PersistentVolumeClaim] = {}

    async def list(self, resource: str, namespace: str = "", **_: Any) -> ObjectList:
        return ObjectList(items=list(self.listed[resource]), resource_version="5")

    async def watch(self, resource: str, namespace: str = "", **_: Any) -> AsyncIterator[Any]:
        while True:
            yield await self.watches[resource].get()

    async def create(self, obj: Any) -> Any:
        if isinstance(obj, core_pb2.Event):
            self.events.append(obj)
            return obj
        if obj.metadata.name in self.hidden:
            raise AlreadyExists(f'persistentvolumeclaims "{obj.metadata.name}" already exists')
        self.created.append(obj)
        return obj

    async def get(self, resource: str, namespace: str, name: str) -> Any:
        if name not in self.hidden:
            raise NotFound(name)
        return self.hidden[name]


@asynccontextmanager
async def running(api: ClaimApi) -> AsyncIterator[EphemeralVolumeController]:
    """The controller with its informers listed (its handlers have seen the lists)."""
    ctx = Context(cast(ApiClient, api), ControllerSettings())
    controller = EphemeralVolumeController(ctx)
    informers = ctx.informers.all()
    for informer in informers:
        informer.start()
    try:
        for informer in informers:
            assert await informer.wait_synced(10)
        yield controller
    finally:
        for informer in informers:
            await informer.stop()
        await controller.events.close(1.0)


async def queued(controller: EphemeralVolumeController) -> list[str]:
    keys = []
    while len(controller.queue):
        key = await controller.queue.get()
        controller.queue.done(key)
        keys.append(key)
    return keys


async def test_a_pods_ephemeral_volume_gets_its_claim_owned_by_the_pod() -> None:
    api = ClaimApi([a_pod()], [])
    before = EPHEMERAL_VOLUME_CREATES._value.get()
    async with running(api) as controller:
        assert await queued(controller) == ["default/web"]
        await controller.sync("default/web")
    (pvc,) = api.created
    assert (pvc.metadata.namespace, pvc.metadata.name) == ("default", "web-scratch")
    assert dict(pvc.metadata.labels) == {"type": "scratch"}
    assert dict(pvc.metadata.annotations) == {"example.com/why": "cache"}
    assert pvc.spec == a_pod().spec.volumes[1].ephemeral.volume_claim_template.spec
    (ref,) = pvc.metadata.owner_references
    assert (ref.api_version, ref.kind, ref.name, ref.uid) == ("v1", "Pod", "web", "pod-uid")
    assert ref.controller and ref.block_owner_deletion
    assert EPHEMERAL_VOLUME_CREATES._value.get() == before + 1


async def test_pods_without_ephemeral_volumes_or_being_deleted_are_left_alone() -> None:
    plain = a_pod("plain")
    del plain.spec.volumes[1]
    leaving = a_pod("leaving", uid="u2", deletionTimestamp="2030-01-01T00:00:00Z")
    api = ClaimApi([plain, leaving], [])
    async with running(api) as controller:
        assert await queued(controller) == []
        for key in ("default/plain", "default/leaving", "default/gone"):
            await controller.sync(key)
    assert api.created == []


async def test_a_claim_the_pod_already_owns_is_not_made_again() -> None:
    api = ClaimApi([a_pod()], [a_claim(owner_uid="pod-uid")])
    async with running(api) as controller:
        await controller.sync("default/web")
    assert api.created == []


@pytest.mark.parametrize(
    "owner_uid", ["", "an-earlier-pod-named-web"], ids=["no-owner", "another-pod"]
)
async def test_a_namesake_claim_not_made_for_the_pod_is_left_alone_and_reported(
    owner_uid: str,
) -> None:
    foreign = a_claim(owner_uid=owner_uid)
    api = ClaimApi([a_pod()], [foreign])
    async with running(api) as controller:
        with pytest.raises(NotOwned):
            await controller.sync("default/web")
        assert await controller.events.flush()
    assert api.created == []
    (event,) = api.events
    assert (event.type, event.reason) == ("Warning", "FailedBinding")
    assert (event.involved_object.kind, event.involved_object.name) == ("Pod", "web")
    assert event.message == (
        "ephemeral volume scratch: PVC default/web-scratch was not created for pod "
        "default/web (pod is not owner)"
    )


async def test_a_claim_made_behind_the_caches_back_is_judged_as_read() -> None:
    api = ClaimApi([a_pod()], [])
    api.hidden["web-scratch"] = a_claim(owner_uid="pod-uid")
    async with running(api) as controller:
        await controller.sync("default/web")  # its own, made by an earlier sync: done
        api.hidden["web-scratch"] = a_claim(owner_uid="someone-else")
        with pytest.raises(NotOwned):
            await controller.sync("default/web")
    assert api.created == []


async def test_a_deleted_claim_brings_back_the_pods_whose_volume_it_was() -> None:
    own = a_claim(owner_uid="pod-uid")
    unrelated = a_claim("cache")
    api = ClaimApi([a_pod(), a_pod("other", uid="u2")], [own, unrelated])
    async with running(api) as controller:
        await queued(controller)
        for pvc in (unrelated, own):
            await api.watches["persistentvolumeclaims"].put(WatchEvent("DELETED", pvc, "6"))
        # Events are handled in order: once the second is queued, the first was handled.
        await eventually(lambda: len(controller.queue), timeout=5, what="a pod queued")
        assert await queued(controller) == ["default/web"]


def test_the_claim_spec_is_a_copy_not_the_pods_own() -> None:
    pod = a_pod()
    pvc = claim_for(pod, pod.spec.volumes[1])
    pvc.spec.access_modes.append("ReadOnlyMany")
    assert list(pod.spec.volumes[1].ephemeral.volume_claim_template.spec.access_modes) == [
        "ReadWriteOnce"
    ]
