"""ReplicationController state metrics: kube-state-metrics' kube_replicationcontroller_*."""

from __future__ import annotations

from tests.unit.statemetrics.test_state_metrics import exposition_of, value

OBJECTS = """
apiVersion: v1
kind: ReplicationController
metadata: {name: nginx, namespace: web, generation: 2, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  replicas: 3
  selector: {app: nginx}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: nginx}]}
status:
  replicas: 3
  readyReplicas: 2
  availableReplicas: 1
  fullyLabeledReplicas: 3
  observedGeneration: 2
"""


def test_a_replication_controller_shows_desired_and_actual_replicas() -> None:
    text = exposition_of(OBJECTS)
    rc = {"namespace": "web", "replicationcontroller": "nginx"}
    for name, expected in (
        ("kube_replicationcontroller_spec_replicas", 3),
        ("kube_replicationcontroller_status_replicas", 3),
        ("kube_replicationcontroller_status_ready_replicas", 2),
        ("kube_replicationcontroller_status_available_replicas", 1),
        ("kube_replicationcontroller_status_fully_labeled_replicas", 3),
        ("kube_replicationcontroller_status_observed_generation", 2),
        ("kube_replicationcontroller_metadata_generation", 2),
        ("kube_replicationcontroller_created", 1767225600),
    ):
        assert value(text, name, **rc) == expected, name
