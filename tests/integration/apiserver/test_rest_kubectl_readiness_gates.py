"""The real kubectl with a pod's readiness gates: the gate is stored and shown in `get pods
-o wide` (READINESS GATES, True conditions over gates), and the condition it waits for is
set as a controller sets it, by a JSON patch of pods/status; a bad condition type is
refused naming the field. The kubelet's side (Ready follows the gate) is tested with a
kubelet (tests/integration/kubelet/test_readiness_gates.py) and on a cluster (e2e)."""

from __future__ import annotations

import json

import pytest

from tests.integration.apiserver.kubectl import KUBECTL, Kubectl

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

GATE = "www.example.com/feature-1"
POD = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: gated}}
spec:
  readinessGates:
  - conditionType: {GATE}
  containers:
  - {{name: app, image: busybox:1.35}}
"""


def add_condition(status: str, *, first: bool = False) -> str:
    """The JSON patch a controller sends; the first makes the list (no kubelet or scheduler
    has written one here)."""
    condition = {"type": GATE, "status": status}
    if first:
        return json.dumps([{"op": "add", "path": "/status/conditions", "value": [condition]}])
    return json.dumps([{"op": "add", "path": "/status/conditions/-", "value": condition}])


async def gates_cell(kubectl: Kubectl) -> str:
    header, row = (await kubectl.ok("get", "pod", "gated", "-o", "wide")).splitlines()
    assert header.split()[-2:] == ["READINESS", "GATES"]
    return row.split()[-1]


async def test_a_gates_condition_set_through_the_status_patch_shows_in_the_wide_table(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=POD)
    assert await gates_cell(kubectl) == "0/1"
    spec = json.loads(await kubectl.ok("get", "pod", "gated", "-o", "json"))["spec"]
    assert spec["readinessGates"] == [{"conditionType": GATE}]

    patch = ["patch", "pod", "gated", "--subresource=status", "--type=json"]
    await kubectl.ok(*patch, "-p", add_condition("False", first=True))
    assert await gates_cell(kubectl) == "0/1"
    # A second condition of the type: kubectl's count, as Kubernetes', reads the first.
    await kubectl.ok(*patch, "-p", add_condition("True"))
    assert await gates_cell(kubectl) == "0/1"
    await kubectl.ok(*patch, "-p", json.dumps([{"op": "remove", "path": "/status/conditions/0"}]))
    assert await gates_cell(kubectl) == "1/1"


async def test_a_gate_that_is_no_qualified_name_is_refused(kubectl):
    ran = await kubectl("apply", "-f", "-", stdin=POD.replace(GATE, "bad gate"))
    assert ran.code != 0
    assert 'spec.readinessGates[0].conditionType: Invalid value: "bad gate"' in ran.err, ran.err
