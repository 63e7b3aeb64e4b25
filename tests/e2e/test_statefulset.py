"""The StatefulSet tutorial's `web` set, on real Docker nodes through `tug` alone.

Kept verbatim in examples/kubernetes-docs/web.yaml: a headless Service `nginx` and a
StatefulSet `web` whose pods each get a `www` claim of the default local-path class.
Scaled to three, its pods start in order, find each other by stable DNS names, keep what
they wrote across deletion, and leave from the top when scaled down.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from client.timestamps import parse_time
from tests.e2e.tables import DOCS
from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

WEB = str(DOCS / "web.yaml")
PAGE = "/usr/share/nginx/html/index.html"


def pods(cluster: Cluster) -> dict[str, Any]:
    listed = json.loads(cluster.tug("get", "pods", "-l", "app=nginx", "-o", "json").ok())
    return {p["metadata"]["name"]: p for p in listed["items"]}


def ready(pod: Any) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def ready_set(cluster: Cluster, names: set[str]) -> bool:
    found = pods(cluster)
    live = {n for n, p in found.items() if "deletionTimestamp" not in p["metadata"]}
    return live == names and all(ready(found[n]) for n in names)


def ready_since(pod: Any) -> float:
    (cond,) = [c for c in pod["status"]["conditions"] if c["type"] == "Ready"]
    return parse_time(cond["lastTransitionTime"]).timestamp()


def test_the_tutorials_web_set_starts_in_order_resolves_peers_keeps_data_and_shrinks_from_the_top(
    cluster: Cluster,
):
    tug = cluster.tug
    try:
        assert tug("apply", "-f", WEB).ok() == (
            "service/nginx created\nstatefulset.apps/web created\n"
        )
        assert tug("scale", "statefulset", "web", "--replicas", "3").ok().strip() == (
            "statefulset.apps/web scaled"
        )
        wait_until(
            lambda: ready_set(cluster, {"web-0", "web-1", "web-2"}),
            timeout=240,
            what="web-0, web-1 and web-2 Running and Ready",
        )
        found = pods(cluster)
        for before, after in (("web-0", "web-1"), ("web-1", "web-2")):
            created = parse_time(found[after]["metadata"]["creationTimestamp"]).timestamp()
            # Times are to the second: made no earlier than its predecessor became ready.
            assert created >= int(ready_since(found[before])), (before, after)
        claims = tug("get", "pvc").ok()
        for ordinal in range(3):
            assert f"www-web-{ordinal}" in claims

        # Stable network identity: each pod resolves its peers through the headless service.
        # (busybox's nslookup asks for the name as given, without the search domains)
        for peer in ("web-1", "web-2"):
            name = f"{peer}.nginx.default.svc.cluster.local"
            answer = tug("exec", "web-0", "--", "nslookup", name).ok()
            assert found[peer]["status"]["podIP"] in answer, answer

        # Stable storage: web-1 writes into its claim, is deleted, and its successor reads it.
        tug("exec", "web-1", "--", "sh", "-c", f"echo kept-by-web-1 > {PAGE}").ok()
        old_uid = found["web-1"]["metadata"]["uid"]
        tug("delete", "pod", "web-1").ok()

        def replaced() -> bool:
            pod = pods(cluster).get("web-1")
            return pod is not None and pod["metadata"]["uid"] != old_uid and ready(pod)

        wait_until(replaced, timeout=180, what="web-1 made again and ready")
        assert tug("exec", "web-1", "--", "cat", PAGE).ok().strip() == "kept-by-web-1"
        fetch = ("exec", "web-0", "--", "wget", "-qO-", "web-1.nginx")
        wait_until(
            lambda: "kept-by-web-1" in tug(*fetch).out,
            timeout=60,
            what="web-0 reading web-1's page by its DNS name",
        )

        # Scaling down removes the highest ordinal.
        tug("scale", "sts", "web", "--replicas", "2").ok()
        wait_until(
            lambda: ready_set(cluster, {"web-0", "web-1"}),
            timeout=120,
            what="web-2 gone, web-0 and web-1 kept",
        )
        assert "www-web-2" in tug("get", "pvc").ok(), "claims are kept when pods go"
    finally:
        tug("delete", "-f", WEB, "--ignore-not-found")
        tug("delete", "pvc", "www-web-0", "www-web-1", "www-web-2", "--ignore-not-found")
