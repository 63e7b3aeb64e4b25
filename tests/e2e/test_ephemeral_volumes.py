"""A generic ephemeral volume (the docs' example pod) on real Docker nodes, through `tug`.

The pod names no claim: the ephemeral-volume controller makes `my-app-scratch-volume`
for it, owned by the pod; the scheduler places the pod and annotates the claim, the
local-path provisioner makes the volume on that node, the kubelet mounts it and the
container writes into it. Deleting the pod deletes the claim (garbage collection, once
pvc-protection lets it go), then the volume and its directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Kubernetes' docs (Ephemeral Volumes, "Generic ephemeral volumes"), with an image that is
# here, the default class and a command that writes into the volume.
POD = """
kind: Pod
apiVersion: v1
metadata:
  name: my-app
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: my-frontend
      image: busybox:1.35
      volumeMounts:
      - mountPath: "/scratch"
        name: scratch-volume
      command: [ "sh", "-c", "echo scratched > /scratch/f; sleep 1000000" ]
  volumes:
    - name: scratch-volume
      ephemeral:
        volumeClaimTemplate:
          metadata:
            labels:
              type: my-frontend-volume
          spec:
            accessModes: [ "ReadWriteOnce" ]
            resources:
              requests:
                storage: 64Mi
"""
CLAIM = "my-app-scratch-volume"


def get_json(cluster: Cluster, *what: str) -> Any:
    return json.loads(cluster.tug("get", *what, "-o", "json").ok())


def gone(cluster: Cluster, *what: str) -> bool:
    return cluster.tug("get", *what).code != 0


def running(cluster: Cluster) -> bool:
    return bool(get_json(cluster, "pod", "my-app").get("status", {}).get("phase") == "Running")


def test_the_docs_pod_writes_to_its_own_claim_which_goes_with_the_pod(cluster: Cluster) -> None:
    tug = cluster.tug
    try:
        tug("apply", "-f", "-", stdin=POD).ok()
        wait_until(lambda: running(cluster), timeout=120, what="my-app Running")
        assert tug("exec", "my-app", "--", "cat", "/scratch/f").ok() == "scratched\n"

        pod = get_json(cluster, "pod", "my-app")
        pvc = get_json(cluster, "pvc", CLAIM)
        (owner,) = pvc["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == (
            "Pod",
            "my-app",
            pod["metadata"]["uid"],
        )
        assert owner["controller"] is True and owner["blockOwnerDeletion"] is True
        assert pvc["metadata"]["labels"] == {"type": "my-frontend-volume"}
        assert pvc["spec"]["storageClassName"] == "local-path"
        assert pvc["status"]["phase"] == "Bound"
        volume = pvc["spec"]["volumeName"]
        pv = get_json(cluster, "pv", volume)
        directory = Path(pv["spec"]["hostPath"]["path"])
        assert (directory / "f").read_text() == "scratched\n"

        tug("delete", "pod", "my-app").ok()
        wait_until(lambda: gone(cluster, "pod", "my-app"), timeout=90, what="my-app gone")
        wait_until(lambda: gone(cluster, "pvc", CLAIM), timeout=90, what="its claim gone")
        wait_until(lambda: gone(cluster, "pv", volume), timeout=90, what="its volume gone")
        assert not directory.exists()
    finally:
        tug("delete", "pod", "my-app", "--ignore-not-found", "--grace-period", "0")
        tug("delete", "pvc", CLAIM, "--ignore-not-found")
