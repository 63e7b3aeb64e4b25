"""The controller manager serves cluster-state metrics from its informers while it runs."""

from __future__ import annotations

from prometheus_client import generate_latest

from master.statemetrics.collector import StateMetrics, state_registry
from tests.integration.controllers.conftest import manifest, pod_template, wait_for


async def test_state_metrics_follow_the_objects_and_end_with_the_term(api, manager):
    state = StateMetrics()
    registry = state_registry(state)
    await manager.start(state=state, controllers=("deployment", "replicaset"))
    await api.create(
        manifest(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": pod_template({"app": "web"}),
                },
            }
        )
    )

    def text() -> str:
        return generate_latest(registry).decode()

    await wait_for(
        lambda: 'kube_deployment_spec_replicas{deployment="web",namespace="default"} 2.0'
        in text(),
        what="the Deployment's spec replicas",
    )
    # The controllers made a ReplicaSet and two pods: their series appear as they do.
    await wait_for(
        lambda: text().count('kube_pod_status_phase{namespace="default",phase="Pending"') == 2,
        what="two pending pods",
    )
    assert 'kube_replicaset_owner{namespace="default",owner_is_controller="true"' in text()
    await manager.stop()
    assert text() == "", "a finished term serves nothing"
