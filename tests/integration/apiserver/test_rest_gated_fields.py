"""Fields of features off by default in Kubernetes 1.32 apply as they do there: dropped,
here with a warning kubectl prints, so the docs' pod-level resources, resize and user
namespace examples apply; a field no Kubernetes has is still refused by name."""

from __future__ import annotations

import json

from tests.integration.apiserver.kubectl import Kubectl

POD = """
apiVersion: v1
kind: Pod
metadata: {name: pod-resources-demo}
spec:
  hostUsers: false
  resources:
    limits: {cpu: "1", memory: 200Mi}
  containers:
  - name: app
    image: busybox:1.35
    resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}]
    resources: {limits: {memory: 100Mi}}
"""


async def test_fields_of_features_that_are_off_are_dropped_with_a_warning(
    kubectl: Kubectl,
) -> None:
    done = await kubectl("apply", "-f", "-", stdin=POD)
    assert done.code == 0, done.err
    assert done.out == "pod/pod-resources-demo created\n"
    for warning in (
        "Warning: spec.resources: dropped: the PodLevelResources feature is off, as in "
        "Kubernetes 1.32 by default",
        "Warning: spec.containers[0].resizePolicy: dropped: the InPlacePodVerticalScaling "
        "feature is off",
        "Warning: spec.hostUsers: dropped: the UserNamespacesSupport feature is off",
    ):
        assert warning in done.err, done.err
    stored = json.loads(await kubectl.ok("get", "pod", "pod-resources-demo", "-o", "json"))
    assert "resources" not in stored["spec"] and "hostUsers" not in stored["spec"]
    assert stored["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "100Mi"},
        "requests": {"memory": "100Mi"},
    }


async def test_the_same_fields_in_a_deployment_template_are_dropped_too(kubectl: Kubectl) -> None:
    deployment = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {json.dumps({"resources": {"limits": {"cpu": "1"}},
                       "containers": [{"name": "app", "image": "busybox:1.35"}]})}
"""  # fmt: skip
    done = await kubectl("apply", "-f", "-", stdin=deployment)
    assert done.code == 0, done.err
    assert "Warning: spec.template.spec.resources: dropped" in done.err


async def test_a_field_no_kubernetes_has_is_still_refused_by_name(kubectl: Kubectl) -> None:
    refused = await kubectl("apply", "-f", "-", stdin=POD.replace("hostUsers", "hostUsersX"))
    assert refused.code == 1
    assert 'strict decoding error: unknown field "spec.hostUsersX"' in refused.err
