"""`tug cordon/uncordon/drain/taint/label` against a real API server, with the scheduler."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from client.api import ApiClient
from client.errors import NotFound
from proto import core_pb2
from tests.integration.cli.tugrun import Result, run_tug
from tests.integration.scheduler.sched_harness import node, pod, running_scheduler
from tests.support.waiting import eventually


@pytest.fixture
def tug(apiserver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUG_HOME", str(tmp_path / "tug-home"))
    monkeypatch.setenv("TUGCONFIG", str(tmp_path / "tug-home" / "config"))

    async def invoke(*argv: str) -> Result:
        return await run_tug(*argv, "--server", apiserver.endpoint)

    return invoke


@pytest.fixture
async def api(apiserver):
    client = ApiClient([apiserver.endpoint])
    try:
        yield client
    finally:
        await client.close()


async def get_node(api: ApiClient, name: str) -> core_pb2.Node:
    n = await api.get("nodes", "", name)
    assert isinstance(n, core_pb2.Node)
    return n


async def test_cordon_and_uncordon_flip_unschedulable_and_say_so(tug, api):
    await api.create(node("n1"))
    r = await tug("cordon", "n1")
    assert (r.code, r.out) == (0, "node/n1 cordoned\n")
    assert (await get_node(api, "n1")).spec.unschedulable
    r = await tug("cordon", "n1")
    assert r.out == "node/n1 already cordoned\n"
    r = await tug("uncordon", "n1")
    assert (r.code, r.out) == (0, "node/n1 uncordoned\n")
    assert not (await get_node(api, "n1")).spec.unschedulable


async def test_a_cordoned_node_gets_no_new_pods(tug, api, apiserver):
    await api.create(node("n1"))
    await api.create(node("n2"))
    assert (await tug("cordon", "n1")).code == 0
    async with running_scheduler([apiserver.endpoint]):
        for i in range(6):
            await api.create(pod(f"p{i}"))

        async def nodes_of_all():
            listed = (await api.list("pods", "default")).items
            names = [p.spec.node_name for p in listed if isinstance(p, core_pb2.Pod)]
            return names if len(names) == 6 and all(names) else None

        placed: Any = await eventually(nodes_of_all, timeout=30, what="every pod bound")
    assert set(placed) == {"n2"}


async def test_taint_adds_and_removes_and_the_scheduler_respects_it(tug, api, apiserver):
    await api.create(node("n1"))
    r = await tug("taint", "nodes", "n1", "dedicated=gpu:NoSchedule")
    assert (r.code, r.out) == (0, "node/n1 tainted\n")
    taints = (await get_node(api, "n1")).spec.taints
    assert [(t.key, t.value, t.effect) for t in taints] == [("dedicated", "gpu", "NoSchedule")]

    async with running_scheduler([apiserver.endpoint]):
        await api.create(pod("plain"))

        async def reason():
            p = await api.get("pods", "default", "plain")
            conds = [c for c in p.status.conditions if c.type == "PodScheduled"]
            return conds[0].message if conds else None

        message: Any = await eventually(reason, timeout=20, what="plain is unschedulable")
        assert message == (
            "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. "
            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.."
        )

        r = await tug("taint", "nodes", "n1", "dedicated:NoSchedule-")
        assert (r.code, r.out) == (0, "node/n1 untainted\n")

        async def bound():
            p = await api.get("pods", "default", "plain")
            return p.spec.node_name

        assert await eventually(bound, timeout=20, what="plain bound after the untaint") == "n1"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("dedicated=gpu", "expected KEY[=VALUE]:EFFECT", id="no-effect"),
        pytest.param("dedicated=gpu:Sometimes", 'unsupported effect "Sometimes"', id="bad-effect"),
        pytest.param("missing:NoSchedule-", 'taint "missing:NoSchedule" not found', id="absent"),
    ],
)
async def test_a_bad_taint_is_refused_naming_what_is_wrong(tug, api, spec, message):
    await api.create(node("n1"))
    r = await tug("taint", "nodes", "n1", spec)
    assert r.code == 1
    assert message in r.err


async def test_label_sets_needs_overwrite_to_change_and_removes(tug, api):
    await api.create(node("n1"))
    r = await tug("label", "nodes", "n1", "zone=a")
    assert (r.code, r.out) == (0, "node/n1 labeled\n")
    r = await tug("label", "nodes", "n1", "zone=b")
    assert r.code == 1
    assert "--overwrite is false" in r.err
    r = await tug("label", "node/n1", "zone=b", "--overwrite")
    assert r.code == 0
    assert (await get_node(api, "n1")).metadata.labels["zone"] == "b"
    r = await tug("label", "nodes", "n1", "zone-")
    assert (r.code, r.out) == (0, "node/n1 unlabeled\n")
    assert "zone" not in (await get_node(api, "n1")).metadata.labels


async def test_drain_cordons_and_evicts_all_but_daemonset_pods(tug, api):
    await api.create(node("n1"))
    for name in ("web-1", "web-2"):
        await api.create(pod(name, nodeName="n1", terminationGracePeriodSeconds=0))
    ds_pod = pod("agent", nodeName="n1")
    ds_pod.metadata.owner_references.add(
        api_version="apps/v1", kind="DaemonSet", name="agent", uid="u-1", controller=True
    )
    await api.create(ds_pod)
    r = await tug("drain", "n1", "--timeout", "30")
    assert r.code == 0, r.err
    assert "node/n1 cordoned" in r.out
    assert "pod/web-1 evicted" in r.out and "pod/web-2 evicted" in r.out
    assert r.out.endswith("node/n1 drained\n")
    assert "ignoring DaemonSet-managed Pods: default/agent" in r.err
    assert (await get_node(api, "n1")).spec.unschedulable
    for name in ("web-1", "web-2"):
        with pytest.raises(NotFound):
            await api.get("pods", "default", name)
    await api.get("pods", "default", "agent")
