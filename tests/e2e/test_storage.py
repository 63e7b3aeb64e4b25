"""A claim of the default `local-path` class, used through `tug` on real Docker nodes.

A pod writes a file into its claim; the scheduler places it, the claim is annotated with
its node and the local-path provisioner makes the volume there; the kubelet makes the
directory and bind-mounts it. The pod is deleted; a new pod with the same claim goes to
the same node (the volume's node affinity) and reads the file. Deleting the claim then
removes the volume and, through the helper pod on that node, its directory.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.e2e.tables import row
from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CLAIM = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: notes}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
"""


def pod(name: str, command: str) -> str:
    return textwrap.dedent(
        f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: busybox:1.35
            command: [sh, -c, '{command}']
            volumeMounts: [{{name: notes, mountPath: /notes}}]
          volumes:
          - name: notes
            persistentVolumeClaim: {{claimName: notes}}
        """
    )


def get_json(cluster: Cluster, *what: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(cluster.tug("get", *what, "-o", "json").ok())
    return data


def running_on(cluster: Cluster, name: str) -> str:
    """The node of a Running pod, else ""."""
    found = get_json(cluster, "pod", name)
    status, spec = found.get("status", {}), found.get("spec", {})
    assert isinstance(status, dict) and isinstance(spec, dict)
    return str(spec.get("nodeName", "")) if status.get("phase") == "Running" else ""


def gone(cluster: Cluster, *what: str) -> bool:
    return cluster.tug("get", *what).code != 0


def test_data_in_a_local_path_claim_outlives_its_pod_and_goes_with_the_claim(cluster: Cluster):
    tug = cluster.tug
    try:
        tug("apply", "-f", "-", stdin=CLAIM).ok()
        table = tug("get", "pvc").ok()
        assert table.split("\n")[0].split() == [
            "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS", "AGE",
        ]  # fmt: skip
        assert table.split("\n")[1].split()[:3] == ["notes", "Pending", "local-path"]
        sc = tug("get", "storageclass").ok()
        assert "local-path (default)" in sc and "WaitForFirstConsumer" in sc

        tug("apply", "-f", "-", stdin=pod("writer", "echo kept > /notes/f; sleep 3600")).ok()
        node = wait_until(lambda: running_on(cluster, "writer"), timeout=90, what="writer up")
        pvc = get_json(cluster, "pvc", "notes")
        spec = pvc["spec"]
        assert isinstance(spec, dict)
        volume = str(spec["volumeName"])
        pv = get_json(cluster, "pv", volume)
        pv_spec = pv["spec"]
        assert isinstance(pv_spec, dict)
        directory = Path(pv_spec["hostPath"]["path"])
        assert wait_until(lambda: (directory / "f").exists(), timeout=30, what="the file")
        listed = row(tug("get", "pv").ok(), volume)
        assert (listed["RECLAIM POLICY"], listed["STATUS"]) == ("Delete", "Bound")
        assert listed["CLAIM"] == "default/notes"

        tug("delete", "pod", "writer", "--grace-period", "0").ok()
        wait_until(lambda: gone(cluster, "pod", "writer"), timeout=60, what="writer gone")
        assert (directory / "f").read_text() == "kept\n"

        tug("apply", "-f", "-", stdin=pod("reader", "cat /notes/f; sleep 3600")).ok()
        again = wait_until(lambda: running_on(cluster, "reader"), timeout=90, what="reader up")
        assert again == node
        assert tug("exec", "reader", "--", "cat", "/notes/f").ok() == "kept\n"

        tug("delete", "pod", "reader", "--grace-period", "0").ok()
        tug("delete", "pvc", "notes").ok()
        wait_until(lambda: gone(cluster, "pvc", "notes"), timeout=60, what="the claim gone")
        wait_until(lambda: gone(cluster, "pv", volume), timeout=90, what="the volume gone")
        assert not directory.exists()
    finally:
        for name in ("writer", "reader"):
            tug("delete", "pod", name, "--ignore-not-found", "--grace-period", "0")
        tug("delete", "pvc", "notes", "--ignore-not-found")
