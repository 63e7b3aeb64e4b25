"""An authenticating API server dispatches requests by API Priority and Fairness: each
response names its FlowSchema and priority level, a full level refuses its own requests
at once with a 429, and node heartbeats and administrators go through all the same."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from client import errors
from client.api import ApiClient, ClientOptions
from client.codec import from_dict
from client.kinds import by_resource
from client.timeouts import within
from master.apiserver.rest import flowheaders
from master.apiserver.server import ApiServer
from proto import core_pb2, flowcontrol_pb2, rbac_pb2, workloads_pb2
from tests.integration.apiserver.helpers import Held
from tests.support.apiserver import running_apiserver
from tests.support.waiting import eventually

TOKENS = {
    "admin": ("admin-token", "admin", "system:masters"),
    "alice": ("alice-token", "alice", ""),
    "n1": ("n1-token", "system:node:n1", "system:nodes"),
}


class Cluster:
    def __init__(self, server: ApiServer, clients: dict[str, ApiClient]) -> None:
        self.server = server
        self.clients = clients

    @property
    def url(self) -> str:
        assert self.server.status is not None
        return f"http://127.0.0.1:{self.server.status.port}"


@pytest.fixture
async def cluster(etcd_clean: Any, tmp_path: Path) -> AsyncIterator[Cluster]:
    """A server with one seat per priority level (a concurrency limit of 1), and alice
    allowed everything by RBAC but outside system:masters."""
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("".join(f'{t},{u},{u},"{g}"\n' for t, u, g in TOKENS.values()))
    async with running_apiserver(
        etcd_clean.endpoints,
        token_auth_file=str(tokens),
        authorization_modes=("Node", "RBAC"),
        max_requests_inflight=1,
        max_mutating_requests_inflight=0,
    ) as server:
        clients = {
            who: ApiClient(
                [server.endpoint], ClientOptions(token=token, max_retries=1, timeout=3.0)
            )
            for who, (token, _, _) in TOKENS.items()
        }
        try:
            binding = rbac_pb2.ClusterRoleBinding(
                api_version="rbac.authorization.k8s.io/v1", kind="ClusterRoleBinding"
            )
            binding.metadata.name = "alice-admin"
            binding.role_ref.api_group = "rbac.authorization.k8s.io"
            binding.role_ref.kind, binding.role_ref.name = "ClusterRole", "cluster-admin"
            binding.subjects.add(kind="User", name="alice", api_group="rbac.authorization.k8s.io")
            await clients["admin"].create(binding)
            yield Cluster(server, clients)
        finally:
            for client in clients.values():
                await client.close()


def configmap(name: str) -> core_pb2.ConfigMap:
    made = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    made.metadata.name, made.metadata.namespace = name, "default"
    return made


async def uid(api: ApiClient, resource: str, name: str) -> str:
    return str((await api.get(resource, "", name)).metadata.uid)


async def test_each_response_names_its_flow_schema_and_priority_level(cluster):
    admin = cluster.clients["admin"]
    await admin.create(configmap("seen"))
    path = f"{cluster.url}/api/v1/namespaces/default/configmaps/seen"
    expected = {
        "admin-token": ("exempt", "exempt"),
        "alice-token": ("global-default", "global-default"),
    }
    async with aiohttp.ClientSession() as session:
        for token, (schema, level) in expected.items():
            headers = {"Authorization": f"Bearer {token}"}
            async with session.get(path, headers=headers) as r:
                assert r.status == 200
                assert r.headers[flowheaders.FLOW_SCHEMA_UID] == await uid(
                    admin, "flowschemas", schema
                )
                assert r.headers[flowheaders.PRIORITY_LEVEL_UID] == await uid(
                    admin, "prioritylevelconfigurations", level
                )


def rejected(server: ApiServer, reason: str) -> float:
    value = server.metrics.registry.get_sample_value(
        "apiserver_flowcontrol_rejected_requests_total",
        {"flow_schema": "alice-only", "priority_level": "tiny", "reason": reason},
    )
    return float(value or 0)


async def alice_in_a_level_of_her_own(
    admin: ApiClient, server: ApiServer, response: dict[str, Any] | None = None
) -> None:
    """A level that may not borrow (Reject unless `response` says otherwise), and alice's
    requests in it."""
    level = from_dict(
        flowcontrol_pb2.PriorityLevelConfiguration,
        {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
            "kind": "PriorityLevelConfiguration",
            "metadata": {"name": "tiny"},
            "spec": {
                "type": "Limited",
                "limited": {
                    "nominalConcurrencyShares": 1,
                    "borrowingLimitPercent": 0,
                    "limitResponse": response or {"type": "Reject"},
                },
            },
        },
    )
    schema = from_dict(
        flowcontrol_pb2.FlowSchema,
        {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
            "kind": "FlowSchema",
            "metadata": {"name": "alice-only"},
            "spec": {
                "priorityLevelConfiguration": {"name": "tiny"},
                "matchingPrecedence": 50,
                "rules": [
                    {
                        "subjects": [{"kind": "User", "user": {"name": "alice"}}],
                        "resourceRules": [
                            {
                                "verbs": ["*"],
                                "apiGroups": ["*"],
                                "resources": ["*"],
                                "namespaces": ["*"],
                                "clusterScope": True,
                            }
                        ],
                    }
                ],
            },
        },
    )
    await admin.create(level)
    await admin.create(schema)
    assert server.dispatcher is not None
    dispatcher = server.dispatcher
    await eventually(
        lambda: dispatcher.classify(_alice_digest()).flow_schema == "alice-only",
        what="the dispatcher configured with alice's schema",
    )


def _alice_digest() -> Any:
    from master.apiserver.flowcontrol.model import RequestDigest

    return RequestDigest(user="alice", groups=("system:authenticated",), resource="configmaps")


async def test_a_full_level_refuses_its_requests_while_others_go_through(cluster):
    admin, alice, node = cluster.clients["admin"], cluster.clients["alice"], cluster.clients["n1"]
    await admin.create(configmap("slow"))
    await admin.create(configmap("other"))
    await alice_in_a_level_of_her_own(admin, cluster.server)
    held = Held(cluster.server)
    slow = asyncio.create_task(alice.get("configmaps", "default", "slow"))
    try:
        await eventually(held.entered.is_set, what="alice's first request running")

        # Refused at once each time: the client, which retries refusals for load until
        # its deadline, gives up with the server's reason.
        with pytest.raises(errors.Unavailable, match="too many requests"):
            await alice.get("configmaps", "default", "other")
        assert rejected(cluster.server, "concurrency-limit") >= 1

        # Her level is full; the node's heartbeat and the administrator are not in it.
        lease = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
        lease.metadata.name, lease.metadata.namespace = "n1", "kube-node-lease"
        lease.spec.holder_identity = "n1"
        made = await node.create(lease)
        made.spec.renew_time = "2026-12-07T20:00:00.000000Z"
        await node.update(made)
        assert (await admin.get("configmaps", "default", "other")).metadata.name == "other"
    finally:
        held.release.set()
        await asyncio.gather(slow, return_exceptions=True)
    # And once her request is done, she has her seat again.
    assert (await alice.get("configmaps", "default", "other")).metadata.name == "other"


async def test_the_http_api_refuses_a_full_level_with_429_and_retry_after(cluster):
    admin = cluster.clients["admin"]
    await admin.create(configmap("slow"))
    await alice_in_a_level_of_her_own(admin, cluster.server)
    held = Held(cluster.server)
    slow = asyncio.create_task(cluster.clients["alice"].get("configmaps", "default", "slow"))
    try:
        await eventually(held.entered.is_set, what="alice's first request running")
        path = f"{cluster.url}/api/v1/namespaces/default/configmaps"
        headers = {"Authorization": "Bearer alice-token"}
        async with aiohttp.ClientSession() as session, session.get(path, headers=headers) as r:
            body = await r.json()
            assert r.status == 429
            assert r.headers["Retry-After"] == "1"
            # Named even when refused, as kube-apiserver names them on classification.
            assert r.headers[flowheaders.FLOW_SCHEMA_UID] == await uid(
                admin, "flowschemas", "alice-only"
            )
            assert r.headers[flowheaders.PRIORITY_LEVEL_UID] == await uid(
                admin, "prioritylevelconfigurations", "tiny"
            )
        assert body["reason"] == "TooManyRequests"
    finally:
        held.release.set()
        await asyncio.gather(slow, return_exceptions=True)


def waiting(server: ApiServer) -> float:
    value = server.metrics.registry.get_sample_value(
        "apiserver_flowcontrol_current_inqueue_requests",
        {"flow_schema": "alice-only", "priority_level": "tiny"},
    )
    return float(value or 0)


async def test_a_client_that_goes_away_while_queued_leaves_its_queue(cluster):
    admin = cluster.clients["admin"]
    await admin.create(configmap("slow"))
    queued = {"type": "Queue", "queuing": {"queues": 1, "handSize": 1, "queueLengthLimit": 5}}
    await alice_in_a_level_of_her_own(admin, cluster.server, queued)
    held = Held(cluster.server)
    # A patient client: its request holds the level's one seat for the whole test.
    patient = ApiClient([cluster.server.endpoint], ClientOptions(token="alice-token", timeout=60))
    slow = asyncio.create_task(patient.get("configmaps", "default", "slow"))
    try:
        await eventually(held.entered.is_set, what="alice's first request running")
        path = f"{cluster.url}/api/v1/namespaces/default/configmaps"
        headers = {"Authorization": "Bearer alice-token"}
        async with aiohttp.ClientSession() as session:
            queued_get = asyncio.create_task(session.get(path, headers=headers))
            await eventually(lambda: waiting(cluster.server) == 1, what="alice's list queued")
            queued_get.cancel()  # the client gives up: its connection closes
            await asyncio.gather(queued_get, return_exceptions=True)
        # Out of the queue now, not when its 15 s wait runs out.
        await eventually(lambda: waiting(cluster.server) == 0, timeout=5, what="queue left")
        assert not slow.done()
    finally:
        held.release.set()
        await asyncio.gather(slow, return_exceptions=True)
        await patient.close()


async def test_an_open_watch_gives_its_seat_back_once_it_has_read_its_initial_list(cluster):
    admin, alice = cluster.clients["admin"], cluster.clients["alice"]
    await admin.create(configmap("seen"))
    await alice_in_a_level_of_her_own(admin, cluster.server)
    path = f"{cluster.url}/api/v1/namespaces/default/configmaps?watch=true"
    headers = {"Authorization": "Bearer alice-token"}
    async with aiohttp.ClientSession() as session, session.get(path, headers=headers) as r:
        assert r.status == 200
        first = json.loads(await within(r.content.readline(), 10))
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "seen")
        # Her level has one seat, and her watch is still open: the seat is free again.
        assert (await alice.get("configmaps", "default", "seen")).metadata.name == "seen"
        async with session.get(path, headers=headers) as again:
            assert again.status == 200


async def test_a_grpc_watch_from_the_start_reads_its_list_in_a_seat_and_streams_without(cluster):
    admin, alice = cluster.clients["admin"], cluster.clients["alice"]
    await admin.create(configmap("seen"))
    await alice_in_a_level_of_her_own(admin, cluster.server)
    events = alice.watch("configmaps", "default", resource_version="0")
    try:
        first = await within(anext(events), 10)
        assert first.object is not None and first.object.metadata.name == "seen"
        assert (await alice.get("configmaps", "default", "seen")).metadata.name == "seen"
    finally:
        await events.aclose()


def estimated_seats(server: ApiServer) -> float:
    """The seats of every exempt request's work estimate so far, added up."""
    value = server.metrics.registry.get_sample_value(
        "apiserver_flowcontrol_work_estimated_seats_sum",
        {"flow_schema": "exempt", "priority_level": "exempt"},
    )
    return float(value or 0)


async def test_a_list_of_many_objects_is_estimated_wider_than_a_get(cluster):
    admin = cluster.clients["admin"]
    for start in range(0, 250, 25):
        await asyncio.gather(
            *(admin.create(configmap(f"many-{i}")) for i in range(start, start + 25))
        )
    # A list from "0" starts the kind's watch cache, whose count the estimates read.
    await admin.list("configmaps", "default", resource_version="0")
    cache = cluster.server.service.watch_cache
    kind = by_resource("configmaps")
    stored = await eventually(
        lambda: (cache.object_count(kind) or 0) >= 250 and cache.object_count(kind),
        what="the watch cache holding the ConfigMaps",
    )
    wide = math.ceil(stored / 100)  # from the cache: a seat per 100 stored objects
    assert wide >= 3
    before = estimated_seats(cluster.server)
    await admin.get("configmaps", "default", "many-0")
    after_get = estimated_seats(cluster.server)
    assert after_get - before == 1
    await admin.list("configmaps", "default", resource_version="0")
    after_list = estimated_seats(cluster.server)
    assert after_list - after_get == wide
    # The REST front-end reads its query the same way.
    path = f"{cluster.url}/api/v1/namespaces/default/configmaps"
    headers = {"Authorization": "Bearer admin-token"}
    async with aiohttp.ClientSession() as session:
        async with session.get(path, params={"resourceVersion": "0"}, headers=headers) as r:
            assert r.status == 200
        assert estimated_seats(cluster.server) - after_list == wide
        async with session.get(f"{path}/many-1", headers=headers) as r:
            assert r.status == 200
        assert estimated_seats(cluster.server) - after_list == wide + 1
