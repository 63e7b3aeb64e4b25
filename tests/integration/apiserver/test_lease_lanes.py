"""Lease renewals have lanes of their own into the API server (client/lanes.py).

gRPC's server takes the calls of one method one at a time, in the order they came, so a
renewal sent as an ordinary Update waited behind every update already queued. In its
own lane it is taken at once, however many other updates wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from client import lanes
from client.api import ApiClient, ClientOptions
from proto import api_pb2, workloads_pb2
from tests.integration.apiserver.helpers import configmap

QUEUED = 200
"""Other updates in flight when the renewal is sent."""


def lease(name: str) -> workloads_pb2.Lease:
    obj = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
    obj.metadata.name = name
    obj.metadata.namespace = "kube-node-lease"
    obj.spec.holder_identity = name
    obj.spec.lease_duration_seconds = 40
    return obj


async def test_a_renewal_sent_after_hundreds_of_updates_is_answered_before_most_of_them(
    apiserver: Any,
) -> None:
    api = ApiClient([apiserver.endpoint], ClientOptions(max_retries=1))
    try:
        maps = await asyncio.gather(*(api.create(configmap(f"m{i}")) for i in range(QUEUED)))
        renewal = await api.create(lease("n1"))
        answered: list[str] = []

        async def update(obj: Any) -> None:
            await api.update(obj)
            answered.append(obj.metadata.name)

        for m in maps:
            m.data["v"] = "2"
        renewal.spec.lease_duration_seconds = 41
        # Every update is sent before any answer can come: the renewal is the last sent.
        await asyncio.gather(*(update(m) for m in maps), update(renewal))

        assert len(answered) == QUEUED + 1
        assert answered.index("n1") < QUEUED // 2, (
            f"the renewal was answered after {answered.index('n1')} of the {QUEUED} "
            "updates sent before it"
        )
    finally:
        await api.close()


@pytest.mark.parametrize("lane", [0, lanes.LANES - 1])
async def test_a_lease_lane_updates_a_lease_and_refuses_any_other_resource(
    apiserver: Any, lane: int
) -> None:
    api = ApiClient([apiserver.endpoint], ClientOptions(max_retries=1))
    channel = grpc.aio.insecure_channel(apiserver.endpoint)
    try:
        stored = await api.create(lease("n2"))
        stored.spec.lease_duration_seconds = 41
        call = channel.unary_unary(
            lanes.path(lane),
            request_serializer=api_pb2.UpdateRequest.SerializeToString,
            response_deserializer=api_pb2.ObjectResponse.FromString,
        )
        renewed = await call(
            api_pb2.UpdateRequest(
                resource="leases",
                namespace="kube-node-lease",
                object=stored.SerializeToString(),
            )
        )
        assert workloads_pb2.Lease.FromString(renewed.object).spec.lease_duration_seconds == 41

        other = await api.create(configmap("not-a-lease"))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(
                api_pb2.UpdateRequest(
                    resource="configmaps", namespace="default", object=other.SerializeToString()
                )
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert '"configmaps"' in (refused.value.details() or "")
        assert (
            await api.get("configmaps", "default", "not-a-lease")
        ).metadata.resource_version == (other.metadata.resource_version)
    finally:
        await channel.close(None)
        await api.close()
