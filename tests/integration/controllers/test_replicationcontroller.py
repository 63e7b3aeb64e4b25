"""ReplicationController: the docs' manifest through kubectl keeps its replicas with an
equality selector defaulted from the template, adopts a matching orphan, scales through
`kubectl scale rc`, and a selector change releases the pods it no longer selects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from client.api import ApiClient
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.integration.apiserver.kubectl import Kubectl, write_kubeconfig
from tests.integration.controllers.conftest import fetch, fetch_all, wait_for

DOCS_MANIFEST = """
apiVersion: v1
kind: ReplicationController
metadata:
  name: nginx
spec:
  replicas: 3
  selector:
    app: nginx
  template:
    metadata:
      name: nginx
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
"""


async def owned_pods(api: ApiClient, uid: str) -> list[core_pb2.Pod]:
    pods = await fetch_all(api, core_pb2.Pod)
    return [p for p in pods if cu.controller_uid(p) == uid and cu.is_pod_active(p)]


async def ready(api: ApiClient, name: str, n: int) -> bool:
    rc = await fetch(api, workloads_pb2.ReplicationController, name)
    s = rc.status
    return (s.replicas, s.ready_replicas, s.available_replicas) == (n, n, n)


async def test_the_docs_replication_controller_keeps_and_scales_its_pods_through_kubectl(
    api: ApiClient, apiserver: Any, manager: Any, simulator: Any, tmp_path: Path
) -> None:
    await simulator(["n1", "n2"])
    await manager.start()
    kubectl = Kubectl(
        write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{apiserver.status.port}"),
        tmp_path / "cache",
    )
    await kubectl.ok("apply", "-f", "-", stdin=DOCS_MANIFEST)
    await wait_for(lambda: ready(api, "nginx", 3), timeout=20, what="3 ready replicas")
    rc = await fetch(api, workloads_pb2.ReplicationController, "nginx")
    pods = await owned_pods(api, rc.metadata.uid)
    assert len(pods) == 3 and all(p.metadata.name.startswith("nginx-") for p in pods)
    assert pods[0].metadata.owner_references[0].kind == "ReplicationController"
    table = await kubectl.ok("get", "rc", "nginx")
    assert table.split("\n")[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert table.split("\n")[1].split()[:4] == ["nginx", "3", "3", "3"]

    await kubectl.ok("scale", "rc", "nginx", "--replicas=1")
    await wait_for(lambda: ready(api, "nginx", 1), timeout=20, what="scaled to 1")
    assert len(await owned_pods(api, rc.metadata.uid)) == 1
    described = await kubectl.ok("describe", "rc", "nginx")
    assert "Selector:     app=nginx" in described and "1 current / 1 desired" in described

    # The selector may change (apps/v1's may not): pods it no longer selects are
    # released, and new ones made for the new selector.
    labels = {"app": "nginx", "tier": "web"}
    patch = {"spec": {"selector": labels, "template": {"metadata": {"labels": labels}}}}
    await kubectl.ok("patch", "rc", "nginx", "-p", json.dumps(patch))

    async def moved() -> bool:
        pods = await owned_pods(api, rc.metadata.uid)
        return len(pods) == 1 and pods[0].metadata.labels.get("tier") == "web"

    await wait_for(moved, timeout=20, what="a pod for the new selector")


async def test_a_selector_that_does_not_match_the_template_is_refused_in_kubernetes_words(
    apiserver: Any, tmp_path: Path
) -> None:
    kubectl = Kubectl(
        write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{apiserver.status.port}"),
        tmp_path / "cache",
    )
    bad = DOCS_MANIFEST.replace("    app: nginx\n  template", "    app: other\n  template")
    refused = await kubectl("apply", "-f", "-", stdin=bad)
    assert refused.code == 1
    assert (
        'The ReplicationController "nginx" is invalid: spec.template.metadata.labels: '
        'Invalid value: {"app": "nginx"}: `selector` does not match template `labels`'
    ) in refused.err, refused.err
