"""Deletion: at once, gracefully for bound pods, held by finalizers, guarded by preconditions."""

from __future__ import annotations

import grpc
import pytest

from proto import core_pb2
from tests.integration.apiserver.helpers import (
    configmap,
    create,
    delete,
    get,
    list_names,
    pod,
    stub_for,
    update,
)


async def test_an_unbound_pod_is_deleted_at_once(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, pod("p"))
        gone = await delete(stub, "pods", "default", "p")
        assert gone.metadata.uid == made.metadata.uid
        assert int(gone.metadata.resource_version) > int(made.metadata.resource_version)
        assert await list_names(stub, "pods", "default") == []


async def test_a_bound_pod_waits_for_its_node_to_confirm_with_grace_zero(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        bound = pod("p", node="n1")
        bound.spec.termination_grace_period_seconds = 20
        await create(stub, bound)
        marked = await delete(stub, "pods", "default", "p")
        assert marked.metadata.deletion_timestamp.endswith("Z")
        assert marked.metadata.deletion_grace_period_seconds == 20
        assert (await get(stub, "pods", "default", "p")).metadata.deletion_timestamp
        # The kubelet reports status while it stops the containers.
        stopping = await get(stub, "pods", "default", "p")
        stopping.status.phase = "Running"
        await update(stub, stopping, status=True)
        await delete(stub, "pods", "default", "p", grace_period_seconds=0)
        assert await list_names(stub, "pods", "default") == []


async def test_a_delete_request_grace_overrides_the_pods_and_only_shortens(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, pod("p", node="n1"))
        first = await delete(stub, "pods", "default", "p", grace_period_seconds=10)
        assert first.metadata.deletion_grace_period_seconds == 10
        longer = await delete(stub, "pods", "default", "p", grace_period_seconds=60)
        assert longer.metadata.deletion_grace_period_seconds == 10
        shorter = await delete(stub, "pods", "default", "p", grace_period_seconds=3)
        assert shorter.metadata.deletion_grace_period_seconds == 3


async def test_a_bound_pod_without_its_own_grace_gets_thirty_seconds(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        p = pod("p", node="n1")
        p.spec.ClearField("termination_grace_period_seconds")
        await create(stub, p)
        stored = await get(stub, "pods", "default", "p")
        marked = await delete(stub, "pods", "default", "p")
    expected = (
        stored.spec.termination_grace_period_seconds
        if stored.spec.HasField("termination_grace_period_seconds")
        else 30
    )
    assert marked.metadata.deletion_grace_period_seconds == expected


async def test_finalizers_hold_an_object_until_an_update_removes_them(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        cm = configmap("held")
        cm.metadata.finalizers.append("example.com/cleanup")
        await create(stub, cm)
        marked = await delete(stub, "configmaps", "default", "held")
        assert marked.metadata.deletion_timestamp
        assert await list_names(stub, "configmaps", "default") == ["held"]
        with pytest.raises(grpc.aio.AioRpcError) as e:
            more = await get(stub, "configmaps", "default", "held")
            more.metadata.finalizers.append("example.com/another")
            await update(stub, more)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        released = await get(stub, "configmaps", "default", "held")
        del released.metadata.finalizers[:]
        await update(stub, released)
        assert await list_names(stub, "configmaps", "default") == []


@pytest.mark.parametrize(
    ("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")]
)
async def test_a_propagation_policy_is_stored_as_its_finalizer(apiserver, policy, finalizer):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("owner"))
        marked = await delete(stub, "configmaps", "default", "owner", propagation_policy=policy)
    assert list(marked.metadata.finalizers) == [finalizer]
    assert marked.metadata.deletion_timestamp


async def test_delete_preconditions_that_do_not_hold_are_a_conflict(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("c"))
        for precondition in (
            {"precondition_uid": "not-the-uid"},
            {"precondition_resource_version": str(int(made.metadata.resource_version) - 1)},
        ):
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await delete(stub, "configmaps", "default", "c", **precondition)
            assert e.value.code() == grpc.StatusCode.ABORTED
            assert "Precondition failed" in str(e.value.details())
        await delete(
            stub,
            "configmaps",
            "default",
            "c",
            precondition_uid=made.metadata.uid,
            precondition_resource_version=made.metadata.resource_version,
        )
        assert await list_names(stub, "configmaps", "default") == []


async def test_deleting_a_missing_object_is_not_found(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await delete(stub, "configmaps", "default", "ghost")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_empty_namespace_is_deleted_at_once(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, _namespace("empty"))
        await delete(stub, "namespaces", "", "empty")
        assert "empty" not in await list_names(stub, "namespaces")


async def test_a_namespace_with_objects_turns_terminating_and_takes_no_new_ones(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, _namespace("busy"))
        await create(stub, configmap("c", namespace="busy"))
        marked = await delete(stub, "namespaces", "", "busy")
        assert marked.status.phase == "Terminating"
        assert marked.metadata.deletion_timestamp
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await create(stub, configmap("late", namespace="busy"))
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "being terminated" in str(e.value.details())
        # Once emptied (the namespace controller's job), deleting again removes it.
        await delete(stub, "configmaps", "busy", "c")
        await delete(stub, "namespaces", "", "busy")
        assert "busy" not in await list_names(stub, "namespaces")


async def test_the_default_namespace_may_not_be_deleted(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await delete(stub, "namespaces", "", "default")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _namespace(name: str) -> core_pb2.Namespace:
    ns = core_pb2.Namespace(api_version="v1", kind="Namespace")
    ns.metadata.name = name
    return ns
