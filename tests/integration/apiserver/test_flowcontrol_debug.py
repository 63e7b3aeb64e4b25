"""kube-apiserver's APF debug endpoints with the real kubectl: `kubectl get --raw
/debug/api_priority_and_fairness/dump_priority_levels` (and dump_queues, dump_requests)
as an administrator prints kube-apiserver's tables with the built-in priority levels; a
user outside system:masters is refused (403); a server without authentication, so
without flow control, answers 404, as kube-apiserver with APF turned off.

kubectl sends a token only over HTTPS, so the secured server serves HTTPS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from master.apiserver.server import ApiServer
from tests.integration.apiserver.https import Secured, secured_apiserver
from tests.integration.apiserver.kubectl import KUBECTL, Kubectl
from tests.support.etcd import EtcdCluster

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

DEBUG = "/debug/api_priority_and_fairness"
BUILT_IN_LEVELS = {
    "catch-all",
    "exempt",
    "global-default",
    "leader-election",
    "node-high",
    "system",
    "workload-high",
    "workload-low",
}
PRIORITY_LEVEL_HEADER = (
    "PriorityLevelName, ActiveQueues, IsIdle, IsQuiescing, WaitingRequests, "
    "ExecutingRequests, DispatchedRequests, RejectedRequests, TimedoutRequests, "
    "CancelledRequests"
)
QUEUE_HEADER = (
    "PriorityLevelName, Index,  PendingRequests, ExecutingRequests, SeatsInUse, "
    "NextDispatchR, InitialSeatsSum, MaxSeatsSum, TotalWorkSum"
)
REQUEST_COLUMNS = [
    "PriorityLevelName",
    "FlowSchemaName",
    "QueueIndex",
    "RequestIndexInQueue",
    "FlowDistingsher",
    "ArriveTime",
    "InitialSeats",
    "FinalSeats",
    "AdditionalLatency",
    "StartTime",
]
DETAIL_COLUMNS = [
    "UserName",
    "Verb",
    "APIPath",
    "Namespace",
    "Name",
    "APIVersion",
    "Resource",
    "SubResource",
]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split(",")]


@pytest.fixture
async def secured(etcd_clean: EtcdCluster, tmp_path: Path) -> AsyncIterator[Secured]:
    async with secured_apiserver(etcd_clean, tmp_path) as found:
        yield found


async def test_an_admin_reads_the_priority_levels_with_the_built_in_ones_and_their_counts(
    secured: Secured,
) -> None:
    admin = secured.kubectl("admin-token")
    await admin.ok("get", "namespaces")  # a resource request: exempt dispatches it
    lines = (await admin.ok("get", "--raw", f"{DEBUG}/dump_priority_levels")).splitlines()
    assert lines[0] == PRIORITY_LEVEL_HEADER
    rows = {cells(line)[0]: cells(line) for line in lines[1:]}
    assert set(rows) == BUILT_IN_LEVELS
    assert [row[0] for row in map(cells, lines[1:])] == sorted(BUILT_IN_LEVELS)
    # IsQuiescing false everywhere; the admin's `get namespaces` was dispatched by exempt.
    assert all(row[3] == "false" for row in rows.values())
    assert int(rows["exempt"][6]) >= 1


async def test_an_admin_reads_the_queues_and_the_requests_with_and_without_details(
    secured: Secured,
) -> None:
    admin = secured.kubectl("admin-token")
    queues = (await admin.ok("get", "--raw", f"{DEBUG}/dump_queues")).splitlines()
    assert queues[0] == QUEUE_HEADER
    assert all(cells(row)[0] in BUILT_IN_LEVELS for row in queues[1:])
    plain = (await admin.ok("get", "--raw", f"{DEBUG}/dump_requests")).splitlines()
    assert cells(plain[0]) == REQUEST_COLUMNS
    detailed = await admin.ok("get", "--raw", f"{DEBUG}/dump_requests?includeRequestDetails=1")
    assert cells(detailed.splitlines()[0]) == REQUEST_COLUMNS + DETAIL_COLUMNS


async def test_a_user_outside_system_masters_is_refused_every_dump(secured: Secured) -> None:
    eddie = secured.kubectl("eddie-token")
    for dump in ("dump_priority_levels", "dump_queues", "dump_requests"):
        ran = await eddie("get", "--raw", f"{DEBUG}/{dump}")
        assert ran.code != 0
        assert "Error from server (Forbidden)" in ran.err, ran.err
        assert f'User "eddie" cannot get path "{DEBUG}/{dump}"' in ran.err, ran.err


async def test_a_server_without_authentication_answers_kube_apiservers_not_found(
    apiserver: ApiServer, kubectl: Kubectl
) -> None:
    assert apiserver.status is not None
    url = f"http://127.0.0.1:{apiserver.status.port}"
    async with aiohttp.ClientSession() as session:
        for dump in ("dump_priority_levels", "dump_queues", "dump_requests"):
            async with session.get(f"{url}{DEBUG}/{dump}") as answer:
                assert answer.status == 404
                # kube-apiserver's NotFound Status, not a bare "404: Not Found" page.
                body = await answer.json(content_type=None)
            assert (body["kind"], body["reason"]) == ("Status", "NotFound")
            assert body["message"] == "the server could not find the requested resource"
            ran = await kubectl("get", "--raw", f"{DEBUG}/{dump}")
            assert ran.code != 0
            assert ran.err.strip() == (
                "Error from server (NotFound): the server could not find the requested resource"
            )
