"""`tug describe pod`'s Volumes section names each claim volume as kubectl does."""

from __future__ import annotations

from cli.describe.pods import write_volumes
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
