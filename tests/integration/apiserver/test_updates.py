"""Updates are guarded by resourceVersion; Update and UpdateStatus each own their half."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from proto import api_pb2, workloads_pb2
from tests.integration.apiserver.helpers import configmap, create, get, pod, stub_for, update


def deployment(name: str, replicas: int = 1) -> workloads_pb2.Deployment:
    d = workloads_pb2.Deployment(api_version="apps/v1", kind="Deployment")
    d.metadata.name = name
    d.metadata.namespace = "default"
    d.spec.replicas = replicas
    d.spec.selector.match_labels["app"] = name
    d.spec.template.metadata.labels["app"] = name
    c = d.spec.template.spec.containers.add()
    c.name = "main"
    c.image = "busybox:1.35"
    return d


async def test_a_stale_update_gets_conflict_and_changes_nothing(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        first = await create(stub, configmap("c", v="1"))
        fresh = await update(stub, _with(first, v="2"))
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await update(stub, _with(first, v="3"))
        assert e.value.code() == grpc.StatusCode.ABORTED
        assert "the object has been modified" in str(e.value.details())
        now = await get(stub, "configmaps", "default", "c")
    assert now.data["v"] == "2"
    assert now.metadata.resource_version == fresh.metadata.resource_version


async def test_of_two_concurrent_updates_from_the_same_read_exactly_one_wins(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        base = await create(stub, configmap("race", v="0"))
        results = await asyncio.gather(
            *(update(stub, _with(base, v=str(i))) for i in range(1, 6)),
            return_exceptions=True,
        )
        now = await get(stub, "configmaps", "default", "race")
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and len(losers) == 4
    assert all(r.code() == grpc.StatusCode.ABORTED for r in losers)
    assert now.data["v"] == winners[0].data["v"]


async def test_an_update_without_resource_version_is_unconditional(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("free", v="1"))
        await update(stub, _with(made, v="2"))
        blind = _with(made, v="3")
        blind.metadata.resource_version = ""
        result = await update(stub, blind)
    assert result.data["v"] == "3"
    assert int(result.metadata.resource_version) > int(made.metadata.resource_version)


async def test_a_no_op_update_writes_nothing(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("same", v="1"))
        again = await update(stub, made)
    assert again.metadata.resource_version == made.metadata.resource_version


async def test_generation_bumps_only_when_the_spec_changes(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, deployment("web"))
        assert made.metadata.generation == 1
        labelled = _copy(made)
        labelled.metadata.labels["team"] = "a"
        labelled = await update(stub, labelled)
        assert labelled.metadata.generation == 1
        scaled = _copy(labelled)
        scaled.spec.replicas = 3
        scaled = await update(stub, scaled)
        assert scaled.metadata.generation == 2
        with_status = _copy(scaled)
        with_status.status.replicas = 3
        with_status = await update(stub, with_status, status=True)
    assert with_status.metadata.generation == 2


async def test_update_keeps_the_status_and_update_status_keeps_the_spec(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, pod("p"))
        reported = _copy(made)
        reported.status.phase = "Running"
        reported.spec.node_name = "sneaky"
        reported = await update(stub, reported, status=True)
        assert reported.status.phase == "Running"
        assert reported.spec.node_name == ""
        changed = _copy(reported)
        changed.metadata.labels["x"] = "y"
        changed.status.phase = "Failed"
        changed = await update(stub, changed)
        now = await get(stub, "pods", "default", "p")
    assert now.metadata.labels["x"] == "y"
    assert now.status.phase == "Running"
    assert now.metadata.uid == made.metadata.uid
    assert now.metadata.creation_timestamp == made.metadata.creation_timestamp


async def test_update_status_of_a_kind_without_status_is_invalid(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("nostatus"))
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await update(stub, made, status=True)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_updating_a_missing_object_is_not_found(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await update(stub, configmap("ghost"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert 'configmaps "ghost" not found' in str(e.value.details())


def _copy(obj: Any) -> Any:
    new = type(obj)()
    new.CopyFrom(obj)
    return new


def _with(cm: Any, **data: str) -> Any:
    new = _copy(cm)
    new.data.clear()
    new.data.update(data)
    return new


async def test_an_update_of_a_recreated_object_is_a_conflict(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        old = await create(stub, configmap("again", v="1"))
        await stub.Delete(
            api_pb2.DeleteRequest(resource="configmaps", namespace="default", name="again")
        )
        await create(stub, configmap("again", v="2"))
        stale = _with(old, v="3")
        stale.metadata.resource_version = ""
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await update(stub, stale)
        assert e.value.code() == grpc.StatusCode.ABORTED
        assert (await get(stub, "configmaps", "default", "again")).data["v"] == "2"
