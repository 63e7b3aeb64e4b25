"""The scheduler against a real API server and etcd (Node objects created directly)."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

import pytest

from client.api import ApiClient
from client.quantity import cpu_millis, memory_bytes
from proto import core_pb2
from tests.integration.cli.tugrun import run_tug
from tests.integration.scheduler.sched_harness import (
    node,
    pod,
    priority_class,
    running_scheduler,
)
from tests.support.waiting import eventually


@pytest.fixture
async def api(apiserver):
    client = ApiClient([apiserver.endpoint])
    try:
        yield client
    finally:
        await client.close()


async def pods_by_name(api: ApiClient) -> dict[str, core_pb2.Pod]:
    listed = await api.list("pods", "default")
    return {p.metadata.name: p for p in listed.items if isinstance(p, core_pb2.Pod)}


async def test_a_pod_bigger_than_every_node_stays_pending_with_the_exact_reason(
    api, apiserver, tmp_path, monkeypatch
):
    for i in range(3):
        await api.create(node(f"n{i}", cpu="2"))
    async with running_scheduler([apiserver.endpoint]):
        await api.create(pod("huge", cpu="4"))
        expected = (
            "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are "
            "available: 3 No preemption victims found for incoming pod.."
        )

        async def condition():
            p = await api.get("pods", "default", "huge")
            for c in p.status.conditions:
                if c.type == "PodScheduled" and c.status == "False":
                    return c
            return None

        cond: Any = await eventually(condition, timeout=20, what="PodScheduled=False on huge")
        assert cond.reason == "Unschedulable"
        assert cond.message == expected

        async def event():
            events = (await api.list("events", "default")).items
            return [
                e
                for e in events
                if e.involved_object.name == "huge" and e.reason == "FailedScheduling"
            ]

        found: Any = await eventually(event, timeout=20, what="a FailedScheduling event")
        [ev] = found
        assert ev.type == "Warning"
        assert ev.message == expected
        p = await api.get("pods", "default", "huge")
        assert not p.spec.node_name
        assert p.status.phase == "Pending"
    monkeypatch.setenv("TUG_HOME", str(tmp_path / "tug-home"))
    monkeypatch.setenv("TUGCONFIG", str(tmp_path / "tug-home" / "config"))
    described = await run_tug("describe", "pod", "huge", "--server", apiserver.endpoint)
    assert described.code == 0, described.err
    assert "FailedScheduling" in described.out
    assert expected in described.out


async def test_five_hundred_pods_on_a_hundred_nodes_all_bound_within_capacity_and_spread(
    api, apiserver
):
    zones = [f"zone-{z}" for z in range(5)]
    await asyncio.gather(
        *(
            api.create(node(f"node-{i:03}", cpu="4", memory="8Gi", labels={"zone": zones[i % 5]}))
            for i in range(100)
        )
    )
    spread = {
        "maxSkew": 1,
        "topologyKey": "zone",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "spread"}},
    }
    async with running_scheduler([apiserver.endpoint]):
        creates = []
        for i in range(500):
            if i % 5 == 0:
                p = pod(
                    f"spread-{i:03}",
                    cpu="500m",
                    memory="256Mi",
                    labels={"app": "spread"},
                    topologySpreadConstraints=[spread],
                )
            else:
                p = pod(f"plain-{i:03}", cpu="500m", memory="512Mi", labels={"app": "plain"})
            creates.append(api.create(p))
        for start in range(0, 500, 50):
            await asyncio.gather(*creates[start : start + 50])

        async def all_bound():
            ps = await pods_by_name(api)
            return ps if len(ps) == 500 and all(p.spec.node_name for p in ps.values()) else None

        ps: Any = await eventually(all_bound, timeout=180, interval=0.5, what="500 pods bound")
    cpu: defaultdict[str, int] = defaultdict(int)
    mem: defaultdict[str, int] = defaultdict(int)
    for p in ps.values():
        req = p.spec.containers[0].resources.requests
        cpu[p.spec.node_name] += cpu_millis(req["cpu"])
        mem[p.spec.node_name] += memory_bytes(req["memory"])
    assert max(cpu.values()) <= 4000, "a node got more cpu than it has"
    assert max(mem.values()) <= memory_bytes("8Gi"), "a node got more memory than it has"
    zone_of = {f"node-{i:03}": zones[i % 5] for i in range(100)}
    per_zone = Counter(
        zone_of[p.spec.node_name] for p in ps.values() if p.metadata.labels["app"] == "spread"
    )
    assert sum(per_zone.values()) == 100
    assert max(per_zone.values()) - min(per_zone.get(z, 0) for z in zones) <= 1


async def test_a_high_priority_pod_preempts_low_priority_ones_on_a_full_cluster(api, apiserver):
    await api.create(priority_class("low", 10))
    await api.create(priority_class("high", 1000))
    await api.create(node("n1", cpu="2"))
    await api.create(node("n2", cpu="2"))
    async with running_scheduler([apiserver.endpoint]):
        for i in range(4):
            await api.create(
                pod(
                    f"low-{i}",
                    cpu="1",
                    priorityClassName="low",
                    terminationGracePeriodSeconds=0,
                )
            )

        async def low_bound():
            ps = await pods_by_name(api)
            return len(ps) == 4 and all(p.spec.node_name for p in ps.values())

        await eventually(low_bound, timeout=30, what="the low-priority pods fill the cluster")
        await api.create(pod("vip", cpu="2", priorityClassName="high"))

        async def vip_bound():
            p = (await pods_by_name(api)).get("vip")
            return p if p is not None and p.spec.node_name else None

        vip: Any = await eventually(vip_bound, timeout=60, what="the high-priority pod bound")
    ps = await pods_by_name(api)
    assert not ps["vip"].status.nominated_node_name, "the nomination is cleared once bound"
    survivors = sorted(n for n in ps if n.startswith("low-"))
    assert len(survivors) == 2, f"exactly the pods of one node go; left: {survivors}"
    assert all(ps[n].spec.node_name != vip.spec.node_name for n in survivors)
    events = (await api.list("events", "default")).items
    preempted = [e for e in events if isinstance(e, core_pb2.Event) and e.reason == "Preempted"]
    assert len(preempted) == 2


async def test_a_gated_pod_waits_until_its_last_gate_is_removed(api, apiserver):
    await api.create(node("n0"))
    gated = pod("gated")
    gated.spec.scheduling_gates.add(name="example.com/quota")
    gated.spec.scheduling_gates.add(name="example.com/data")
    made = await api.create(gated)
    (condition,) = [c for c in made.status.conditions if c.type == "PodScheduled"]
    assert (condition.status, condition.reason) == ("False", "SchedulingGated")
    async with running_scheduler([apiserver.endpoint]):
        # A pod made after it is bound: the scheduler has had its look at the gated one.
        await api.create(pod("free"))

        async def bound(name: str) -> bool:
            return bool((await pods_by_name(api))[name].spec.node_name)

        await eventually(lambda: bound("free"), timeout=20, what="the ungated pod bound")
        assert not await bound("gated")

        async def ungate(remaining: list[str]) -> None:
            current = (await pods_by_name(api))["gated"]
            del current.spec.scheduling_gates[:]
            current.spec.scheduling_gates.extend(
                core_pb2.PodSchedulingGate(name=n) for n in remaining
            )
            await api.update(current)

        await ungate(["example.com/data"])
        await api.create(pod("free-again"))
        await eventually(lambda: bound("free-again"), timeout=20, what="a second ungated pod")
        assert not await bound("gated")
        await ungate([])
        await eventually(lambda: bound("gated"), timeout=20, what="the pod bound once ungated")
