"""The controllers treat custom objects as any object: a namespace being deleted deletes
its custom objects before it goes, and a custom object owned by another one is collected
when its owner is deleted."""

from __future__ import annotations

from typing import Any

from client import customkinds, errors
from client.api import ApiClient
from client.codec import from_dict
from proto import apiextensions_pb2, core_pb2
from tests.support.crds import website_crd
from tests.support.waiting import eventually


def _site(name: str, namespace: str, owner: Any = None) -> Any:
    site = from_dict(
        apiextensions_pb2.CustomObject,
        {
            "apiVersion": "examples.tugboat.io/v1",
            "kind": "Website",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"image": "busybox:1.35"},
        },
    )
    if owner is not None:
        ref = site.metadata.owner_references.add()
        ref.api_version, ref.kind = owner.api_version, owner.kind
        ref.name, ref.uid, ref.controller = owner.metadata.name, owner.metadata.uid, True
    return site


async def _missing(api: ApiClient, resource: str, namespace: str, name: str) -> bool:
    try:
        await api.get(resource, namespace, name)
    except errors.NotFound:
        return True
    return False


async def test_a_namespace_takes_its_custom_objects_along(api: ApiClient, manager: Any) -> None:
    await api.create(website_crd())
    await customkinds.load(api)
    ns = core_pb2.Namespace(api_version="v1", kind="Namespace")
    ns.metadata.name = "team"
    await api.create(ns)
    await api.create(_site("a", "team"))
    await manager.start()
    await api.delete("namespaces", "", "team")
    await eventually(
        lambda: _missing(api, "namespaces", "", "team"), timeout=30, what="the namespace gone"
    )
    assert (await api.list("websites", "team")).items == []


async def test_a_custom_object_goes_with_its_custom_owner(api: ApiClient, manager: Any) -> None:
    await api.create(website_crd())
    await customkinds.load(api)
    await manager.start()
    owner = await api.create(_site("owner", "default"))
    await api.create(_site("owned", "default", owner))
    await api.delete("websites", "default", "owner")
    await eventually(
        lambda: _missing(api, "websites", "default", "owned"), timeout=30, what="the owned one"
    )
    manager.check()
