"""`tug autoscale` and `tug get hpa`: kubectl's words, columns and refusals."""

from __future__ import annotations

import json

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: busybox:1.35, resources: {requests: {cpu: 100m}}}]
"""


async def test_autoscale_makes_an_hpa_that_get_hpa_prints_in_kubectls_columns(tug):
    await tug("apply", "-f", "-", stdin=DEPLOYMENT)
    made = await tug("autoscale", "deploy/web", "--min", "2", "--max", "6", "--cpu-percent", "40")
    assert (made.code, made.out) == (0, "horizontalpodautoscaler.autoscaling/web autoscaled\n")
    hpa = json.loads((await tug("get", "hpa", "web", "-o", "json")).out)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web"
    }  # fmt: skip
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    table = (await tug("get", "hpa")).out.splitlines()
    assert table[0].split() == [
        "NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"
    ]  # fmt: skip
    assert table[1].split()[:7] == ["web", "Deployment/web", "cpu:", "<unknown>/40%", "2", "6", "0"]


async def test_autoscale_without_a_cpu_target_gets_the_servers_default_of_80_percent(tug):
    await tug("apply", "-f", "-", stdin=DEPLOYMENT)
    made = await tug("autoscale", "deployment", "web", "--max", "3", "--name", "other")
    assert made.code == 0, made.err
    hpa = json.loads((await tug("get", "hpa", "other", "-o", "json")).out)
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 80


async def test_autoscale_refuses_a_missing_max_a_missing_target_and_a_second_hpa(tug):
    await tug("apply", "-f", "-", stdin=DEPLOYMENT)
    no_max = await tug("autoscale", "deploy/web", "--min", "2")
    assert no_max.code == 1 and "--max=MAXPODS is required" in no_max.err
    below = await tug("autoscale", "deploy/web", "--min", "4", "--max", "2")
    assert below.code == 1 and "must be larger or equal to --min=MINPODS" in below.err
    missing = await tug("autoscale", "deploy/nope", "--max", "2")
    assert missing.code == 1 and 'deployments.apps "nope" not found' in missing.err
    assert (await tug("autoscale", "deploy/web", "--max", "2")).code == 0
    twice = await tug("autoscale", "deploy/web", "--max", "2")
    assert twice.code == 1 and 'horizontalpodautoscalers.autoscaling "web" already exists' in (
        twice.err
    )
    pods = await tug("autoscale", "pod/web", "--max", "2")
    assert pods.code == 1 and "not supported here" in pods.err
