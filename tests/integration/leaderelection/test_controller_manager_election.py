"""tug-controller-manager runs under the election and shows its leader as a Lease."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from client.api import ApiClient
from client.errors import NotFound
from proto import workloads_pb2
from tests.integration.cli.tugrun import run_tug
from tests.integration.scheduler.sched_harness import ElectedProcess
from tests.support.waiting import eventually


def controller_manager(name: str, servers: list[str], etcd: list[str]) -> ElectedProcess:
    return ElectedProcess(
        name,
        servers,
        etcd,
        2.0,
        program="tug-controller-manager",
        module="master.controllermanager.main",
    )


@pytest.fixture
async def api(apiserver):
    client = ApiClient([apiserver.endpoint])
    try:
        yield client
    finally:
        await client.close()


async def lease(api: ApiClient) -> workloads_pb2.Lease | None:
    try:
        obj = await api.get("leases", "kube-system", "tug-controller-manager")
    except NotFound:
        return None
    assert isinstance(obj, workloads_pb2.Lease)
    return obj


async def test_two_managers_one_leads_and_a_graceful_stop_hands_over_at_once(
    api, apiserver, etcd_clean, tmp_path, monkeypatch
):
    procs = [
        controller_manager(f"cm-{i}", [apiserver.endpoint], etcd_clean.endpoints) for i in range(2)
    ]
    try:

        async def held():
            current = await lease(api)
            return current if current is not None and current.spec.holder_identity else None

        first: Any = await eventually(held, timeout=30, what="a manager holds the Lease")
        leader = next(p for p in procs if p.name == first.spec.holder_identity)
        other = next(p for p in procs if p is not leader)
        assert first.spec.lease_duration_seconds == 2
        assert first.spec.renew_time and first.spec.acquire_time
        await eventually(
            lambda: leader.metric("tugboat_leader_is_leader") == 1.0, what="leader metric"
        )
        await eventually(
            lambda: other.metric("tugboat_leader_is_leader") == 0.0, what="standby metric"
        )
        monkeypatch.setenv("TUG_HOME", str(tmp_path / "tug-home"))
        monkeypatch.setenv("TUGCONFIG", str(tmp_path / "tug-home" / "config"))
        info = await run_tug("cluster-info", "--server", apiserver.endpoint)
        assert f"tug-controller-manager leader: {leader.name} (renewed" in info.out

        leader.signal(signal.SIGTERM)

        async def handed_over():
            current = await lease(api)
            return current if current and current.spec.holder_identity == other.name else None

        second: Any = await eventually(handed_over, timeout=10, what="the other takes over")
        assert second.spec.lease_transitions == first.spec.lease_transitions + 1
        assert leader.process.wait(timeout=10) == 0, leader.logs()
        assert "resigned" in leader.logs()
    finally:
        for p in procs:
            p.stop()
