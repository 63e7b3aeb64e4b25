"""The HPA controller on a real API server: it reads pod usage the real way (the API
server's relay of a kubelet's Stats, answered by tests/support/fakestats.py with usage the
test sets), resizes a Deployment through its scale view, and reports in status and events.

The sync period is shortened through ControllerSettings (0.2 s) and each HPA's
`behavior.scaleDown.stabilizationWindowSeconds` is set small, so no test waits minutes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from client.api import ApiClient
from proto import autoscaling_pb2, core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, manifest, wait_for
from tests.support.fakestats import FakeStats

SETTINGS: dict[str, Any] = {
    "controllers": ("deployment", "replicaset", "horizontalpodautoscaling"),
    "horizontal_pod_autoscaler_sync_period": 0.2,
}


def deployment(name: str, replicas: int = 1, request: str | None = "100m") -> Any:
    resources = {"requests": {"cpu": request, "memory": "64Mi"}} if request else {}
    return manifest(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {
                        "containers": [
                            {"name": "main", "image": "busybox:1.35", "resources": resources}
                        ]
                    },
                },
            },
        }
    )


def hpa(name: str, target: str, *, low: int = 1, high: int = 4, **spec: Any) -> Any:
    return manifest(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "minReplicas": low,
                "maxReplicas": high,
                **spec,
            },
        }
    )


CPU_50 = [
    {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
    }
]
QUICK_DOWN = {"scaleDown": {"stabilizationWindowSeconds": 1}}


@pytest.fixture
async def node(api: ApiClient, simulator: Any) -> AsyncIterator[tuple[FakeStats, Any]]:
    """Node n1: a stand-in kubelet for its stats, the simulator running its pods."""
    stats = FakeStats("n1")
    await stats.start()
    try:
        await stats.publish(api)
        sim = await simulator(["n1"], heartbeat=False)
        yield stats, sim
    finally:
        await stats.stop()


def every_pod(sim: Any, app: str, millicores: int) -> Any:
    """Usage for each running pod of `app`, read from the simulator's pod cache."""

    def usage() -> dict[tuple[str, str], tuple[int, int]]:
        return {
            (p.metadata.namespace, p.metadata.name): (millicores, 32 << 20)
            for p in sim.informer.list()
            if p.metadata.labels.get("app") == app and p.status.phase == "Running"
        }

    return usage


async def replicas(api: ApiClient, name: str) -> int:
    d = await fetch(api, workloads_pb2.Deployment, name)
    return d.spec.replicas


async def status_of(api: ApiClient, name: str) -> autoscaling_pb2.HorizontalPodAutoscaler:
    return await fetch(api, autoscaling_pb2.HorizontalPodAutoscaler, name)


def condition(h: autoscaling_pb2.HorizontalPodAutoscaler, kind: str) -> tuple[str, str]:
    found = next((c for c in h.status.conditions if c.type == kind), None)
    return (found.status, found.reason) if found is not None else ("", "")


async def reasons(api: ApiClient, name: str) -> list[str]:
    events = await fetch_all(api, core_pb2.Event)
    return [e.reason for e in events if e.involved_object.name == name]


async def test_busy_pods_scale_the_deployment_up_and_idle_ones_back_down(api, manager, node):
    stats, sim = node
    stats.source = every_pod(sim, "web", 200)  # 200 % of the 100m request
    await api.create(deployment("web"))
    await api.create(hpa("web", "web", metrics=CPU_50, behavior=QUICK_DOWN))
    await manager.start(**SETTINGS)

    # 400 % of the target wants 4 pods from 1; the default policy allows +4 per 15 s.
    await wait_for(lambda: _is(api, "web", 4), timeout=30, what="scale up to 4")
    await wait_for(
        lambda: _status(api, "web", desired=4), timeout=10, what="status desiredReplicas 4"
    )

    async def held_at_max() -> bool:
        # Once the new pods count (a whole sample window after they turned ready), 16
        # pods are wanted and maxReplicas holds the count at 4.
        h = await status_of(api, "web")
        return condition(h, "ScalingLimited") == ("True", "TooManyReplicas")

    await wait_for(held_at_max, timeout=15, what="ScalingLimited TooManyReplicas")
    h = await status_of(api, "web")
    assert condition(h, "ScalingActive") == ("True", "ValidMetricFound")
    assert h.status.last_scale_time
    assert "SuccessfulRescale" in await reasons(api, "web")

    stats.source = every_pod(sim, "web", 5)
    await wait_for(lambda: _is(api, "web", 1), timeout=30, what="scale down to 1")
    h = await status_of(api, "web")
    (metric,) = h.status.current_metrics
    assert metric.resource.name == "cpu" and metric.resource.current.average_utilization < 50
    manager.check()


async def test_without_requests_the_hpa_says_it_cannot_compute_and_does_nothing(
    api, manager, node
):
    stats, sim = node
    stats.source = every_pod(sim, "bare", 500)
    await api.create(deployment("bare", replicas=2, request=None))
    await api.create(hpa("bare", "bare", metrics=CPU_50))
    await manager.start(**SETTINGS)

    async def refused() -> bool:
        # Before the pods exist the reason is the same with another message.
        h = await status_of(api, "bare")
        found = next((c for c in h.status.conditions if c.type == "ScalingActive"), None)
        return (
            found is not None
            and (found.status, found.reason) == ("False", "FailedGetResourceMetric")
            and "missing request for cpu in container main" in found.message
        )

    await wait_for(refused, timeout=20, what="ScalingActive False for the missing request")
    assert await replicas(api, "bare") == 2
    assert "FailedComputeMetricsReplicas" in await reasons(api, "bare")


async def test_a_missing_target_is_reported_and_a_count_above_max_is_brought_down(
    api, manager, node
):
    await api.create(hpa("ghost", "nowhere", metrics=CPU_50))
    await api.create(deployment("big", replicas=6))
    await api.create(hpa("big", "big", low=1, high=3, metrics=CPU_50))
    await manager.start(**SETTINGS)

    async def failed_get() -> bool:
        h = await status_of(api, "ghost")
        return condition(h, "AbleToScale") == ("False", "FailedGetScale")

    await wait_for(failed_get, timeout=20, what="AbleToScale False")
    # No metrics are needed to bring 6 within [1, 3].
    await wait_for(lambda: _is(api, "big", 3), timeout=20, what="scaled to maxReplicas")


async def test_a_target_scaled_to_zero_by_hand_turns_autoscaling_off(api, manager, node):
    await api.create(deployment("off", replicas=0))
    await api.create(hpa("off", "off", metrics=CPU_50))
    await manager.start(**SETTINGS)

    async def disabled() -> bool:
        h = await status_of(api, "off")
        return condition(h, "ScalingActive") == ("False", "ScalingDisabled")

    await wait_for(disabled, timeout=20, what="ScalingDisabled")
    assert await replicas(api, "off") == 0


async def _is(api: ApiClient, name: str, count: int) -> bool:
    return await replicas(api, name) == count


async def _status(api: ApiClient, name: str, *, desired: int) -> bool:
    return (await status_of(api, name)).status.desired_replicas == desired
