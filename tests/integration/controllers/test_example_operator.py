"""The example operator (examples/operator/) against a real API server and the real
controllers: a Website becomes a Deployment and a Service, both follow edits of the
Website, its status is reported, and both go when the Website goes (garbage collection by
owner reference)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from client import codec, customkinds, errors
from client.api import ApiClient
from client.manifests import parse_manifests
from tests.support.waiting import eventually

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "operator"


def _load_operator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "website_operator", EXAMPLE / "website_operator.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def operator(api: ApiClient, manager: Any) -> AsyncIterator[None]:
    """The CRD installed, the controllers and the operator running."""
    (crd,) = parse_manifests((EXAMPLE / "crd.yaml").read_text(), "crd.yaml")
    await api.create(crd.obj)

    async def served() -> bool:
        # As a kubectl user waits for a new CRD before applying its objects: the kind is
        # learnt from the CRDs listed (as `tug apply` learns it) and the server lists it.
        await customkinds.load(api)
        try:
            await api.list("websites", "default")
        except errors.NotFound:
            return False
        return True

    await eventually(served, timeout=10, what="the Website kind served")
    await manager.start()
    task = asyncio.create_task(_load_operator().WebsiteOperator(api).run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _get(api: ApiClient, resource: str, name: str) -> Any:
    try:
        return await api.get(resource, "default", name)
    except errors.NotFound:
        return None


async def test_a_website_becomes_a_deployment_and_a_service_that_follow_it_and_go_with_it(
    api: ApiClient, operator: None, manager: Any
) -> None:
    (site,) = parse_manifests((EXAMPLE / "website.yaml").read_text(), "website.yaml")
    site.obj.metadata.namespace = "default"
    created = await api.create(site.obj)

    async def children() -> Any:
        dep, svc = await _get(api, "deployments", "hello"), await _get(api, "services", "hello")
        return (dep, svc) if dep is not None and svc is not None else None

    dep, svc = await eventually(children, timeout=20, what="the Deployment and the Service")
    assert dep.spec.replicas == 2
    assert dep.spec.template.spec.containers[0].image == "busybox:1.35"
    assert svc.spec.ports[0].port == 80
    for child in (dep, svc):
        (ref,) = child.metadata.owner_references
        assert (ref.kind, ref.name, ref.uid, ref.controller) == (
            "Website", "hello", created.metadata.uid, True)  # fmt: skip

    async def reported() -> Any:
        got: Any = await api.get("websites", "default", "hello")
        status = json.loads(got.status.json) if got.HasField("status") else {}
        return status if "url" in status else None

    status = await eventually(reported, timeout=20, what="the Website's status")
    assert status["url"] == "http://hello.default.svc.cluster.local:80"
    assert status["selector"] == "app.kubernetes.io/instance=hello"

    # An edit of the Website reaches its Deployment and Service. The operator writes the
    # Website's status as its Deployment rolls, so the edit is read, changed and written
    # again on Conflict, as any client sharing an object does.
    async def edited() -> bool:
        live = await api.get("websites", "default", "hello")
        body = codec.to_dict(live)
        body["spec"].update(replicas=3, image="busybox:1.36", port=8080)
        try:
            await api.update(codec.from_dict(type(live), body))
        except errors.Conflict:
            return False
        return True

    await eventually(edited, timeout=20, what="the Website's edit to be written")

    async def followed() -> bool:
        d, s = await _get(api, "deployments", "hello"), await _get(api, "services", "hello")
        return bool(
            d.spec.replicas == 3
            and d.spec.template.spec.containers[0].image == "busybox:1.36"
            and s.spec.ports[0].port == 8080
        )

    await eventually(followed, timeout=20, what="the Deployment and Service to follow the edit")
    manager.check()

    # Deleting the Website takes its Deployment and Service along (garbage collector).
    await api.delete("websites", "default", "hello")

    async def gone() -> bool:
        d, s = await _get(api, "deployments", "hello"), await _get(api, "services", "hello")
        return d is None and s is None

    await eventually(gone, timeout=30, what="the Deployment and Service to be collected")
    manager.check()
