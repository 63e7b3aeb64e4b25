"""`tug describe pod` writes kubectl's page: its Volumes section names each claim volume,
and the header and readiness gates read as kubectl 1.32's."""

from __future__ import annotations

from cli.describe.pods import describe_pod, write_volumes
from cli.describe.writer import Writer
from client.codec import from_dict
from proto import core_pb2


def volumes_page(*volumes: dict[str, object]) -> list[str]:
    pod = from_dict(core_pb2.Pod, {"spec": {"volumes": list(volumes)}})
    w = Writer()
    write_volumes(w, 0, list(pod.spec.volumes))
    return w.render().splitlines()


def test_a_generic_ephemeral_volume_shows_the_claim_it_will_get() -> None:
    template = {
        "metadata": {"labels": {"type": "my-frontend-volume"}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local-path",
            "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    page = volumes_page({"name": "scratch", "ephemeral": {"volumeClaimTemplate": template}})
    assert page == [
        "Volumes:",
        "  scratch:",
        "    Type:          EphemeralVolume (an inline specification for a volume that gets "
        "created and deleted with the pod)",
        "    StorageClass:  local-path",
        "    Volume:",
        "    Labels:        type=my-frontend-volume",
        "    Annotations:   <none>",
        "    Capacity:",
        "    Access Modes:",
        "    VolumeMode:    Filesystem",
    ]


def test_a_claim_volume_names_its_claim() -> None:
    page = volumes_page({"name": "d", "persistentVolumeClaim": {"claimName": "data"}})
    assert page == [
        "Volumes:",
        "  d:",
        "    Type:       PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the "
        "same namespace)",
        "    ClaimName:  data",
        "    ReadOnly:   false",
    ]


def pod_page(pod: dict[str, object]) -> list[str]:
    w = Writer()
    describe_pod(w, from_dict(core_pb2.Pod, pod))
    return w.render().splitlines()


def test_a_pod_page_names_its_runtime_class_and_service_account_after_its_priority() -> None:
    page = pod_page(
        {
            "metadata": {"name": "sandboxed", "namespace": "shop"},
            "spec": {
                "priority": 0,
                "runtimeClassName": "kata-fc",
                "serviceAccountName": "default",
                "containers": [{"name": "main", "image": "busybox:1.35"}],
            },
        }
    )
    assert page[:5] == [
        "Name:                sandboxed",
        "Namespace:           shop",
        "Priority:            0",
        "Runtime Class Name:  kata-fc",
        "Service Account:     default",
    ]


def test_a_pod_page_shows_each_readiness_gate_with_its_conditions_status() -> None:
    page = pod_page(
        {
            "metadata": {"name": "gated", "namespace": "shop"},
            "spec": {
                "readinessGates": [
                    {"conditionType": "www.example.com/feature-1"},
                    {"conditionType": "www.example.com/feature-2"},
                ],
                "containers": [{"name": "main", "image": "busybox:1.35"}],
            },
            "status": {"conditions": [{"type": "www.example.com/feature-1", "status": "False"}]},
        }
    )
    start = page.index("Readiness Gates:")
    assert page[start : start + 4] == [
        "Readiness Gates:",
        "  Type                       Status",
        "  www.example.com/feature-1  False",
        "  www.example.com/feature-2  <none>",
    ]
    assert page[start + 4] == "Conditions:"
