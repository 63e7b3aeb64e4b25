"""Admission webhooks through the real kubectl: a validating webhook refuses what it
denies in Kubernetes' words, a mutating one's JSON patch is stored, a Service-referenced
webhook is reached through its endpoints with its certificate checked, and a webhook
that cannot be reached fails the write, or not, as its failurePolicy says."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from client import errors
from client.api import ApiClient
from client.codec import from_dict
from master.apiserver.server import ApiServer
from proto import core_pb2
from tests.integration.apiserver.kubectl import Kubectl
from tests.support.ports import free_port
from tests.support.webhook_server import WebhookServer, patch_answer

POD = """
apiVersion: v1
kind: Pod
metadata: {name: %s, labels: {team: %s}}
spec: {containers: [{name: app, image: busybox:1.35}]}
"""


def configuration(kind: str, name: str, client_config: str, extra: str = "") -> str:
    return f"""
apiVersion: admissionregistration.k8s.io/v1
kind: {kind}
metadata: {{name: {name}}}
webhooks:
- name: {name}
  clientConfig: {client_config}
  rules:
  - {{apiGroups: [""], apiVersions: [v1], operations: [CREATE, DELETE], resources: [pods]}}
  sideEffects: None
  admissionReviewVersions: [v1]
{extra}"""


def deny_red(request: dict[str, Any]) -> dict[str, Any]:
    seen = request["object"] or request["oldObject"]
    if seen["metadata"].get("labels", {}).get("team") == "red":
        return {"allowed": False, "status": {"message": "team red may not run pods here"}}
    return {"allowed": True}


async def deny_red_pods(kubectl: Kubectl, hooks: WebhookServer) -> None:
    """Register the test's webhook, by URL, as a validating one refusing team red's pods."""
    hooks.answers["/validate"] = deny_red
    url = json.dumps({"url": hooks.url("/validate"), "caBundle": hooks.ca_bundle})
    config = configuration("ValidatingWebhookConfiguration", "deny.teams.example.com", url)
    await kubectl.ok("apply", "-f", "-", stdin=config)


async def test_a_validating_webhook_refuses_what_it_denies_and_sees_the_whole_request(
    kubectl: Kubectl, hooks: WebhookServer
) -> None:
    await deny_red_pods(kubectl, hooks)
    refused = await kubectl("apply", "-f", "-", stdin=POD % ("red-pod", "red"))
    assert refused.code == 1
    assert refused.err == (
        'Error from server: error when creating "STDIN": admission webhook '
        '"deny.teams.example.com" denied the request: team red may not run pods here\n'
    )
    await kubectl.ok("apply", "-f", "-", stdin=POD % ("blue-pod", "blue"))
    assert (await kubectl("get", "pod", "red-pod")).code == 1
    review = hooks.reviews["/validate"][-1]
    assert review["apiVersion"] == "admission.k8s.io/v1"
    request = review["request"]
    assert request["operation"] == "CREATE"
    assert request["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert request["resource"] == {"group": "", "version": "v1", "resource": "pods"}
    assert request["namespace"] == "default" and request["name"] == "blue-pod"
    assert request["object"]["spec"]["containers"][0]["image"] == "busybox:1.35"
    # Deletes are sent too, with the stored object as oldObject.
    await kubectl.ok("delete", "pod", "blue-pod", "--wait=false")
    deleted = hooks.reviews["/validate"][-1]["request"]
    assert deleted["operation"] == "DELETE" and deleted["object"] is None
    assert deleted["oldObject"]["metadata"]["name"] == "blue-pod"
    table = await kubectl.ok("get", "validatingwebhookconfigurations")
    assert table.split("\n")[0].split() == ["NAME", "WEBHOOKS", "AGE"]


async def test_a_mutating_webhook_patch_is_stored_and_the_validating_one_sees_the_result(
    kubectl: Kubectl, hooks: WebhookServer
) -> None:
    hooks.answers["/mutate"] = lambda request: patch_answer(
        [{"op": "replace", "path": "/metadata/labels/team", "value": "red"},
         {"op": "add", "path": "/metadata/annotations", "value": {"mutated": "yes"}}]
    )  # fmt: skip
    hooks.answers["/validate"] = deny_red
    mutate = json.dumps({"url": hooks.url("/mutate"), "caBundle": hooks.ca_bundle})
    validate = json.dumps({"url": hooks.url("/validate"), "caBundle": hooks.ca_bundle})
    both = (
        configuration("MutatingWebhookConfiguration", "paint.teams.example.com", mutate)
        + "---"
        + configuration("ValidatingWebhookConfiguration", "deny.teams.example.com", validate)
    )
    await kubectl.ok("apply", "-f", "-", stdin=both)
    # The mutating webhook paints every pod red, which the validating one then refuses.
    refused = await kubectl("apply", "-f", "-", stdin=POD % ("blue-pod", "blue"))
    assert "team red may not run pods here" in refused.err
    await kubectl.ok("delete", "validatingwebhookconfiguration", "deny.teams.example.com")
    await kubectl.ok("apply", "-f", "-", stdin=POD % ("blue-pod", "blue"))
    stored = json.loads(await kubectl.ok("get", "pod", "blue-pod", "-o", "json"))
    assert stored["metadata"]["labels"] == {"team": "red"}
    assert stored["metadata"]["annotations"]["mutated"] == "yes"
    # Defaults still hold after the patch (the object was decoded and defaulted again).
    assert stored["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


async def test_a_service_webhook_is_reached_through_its_endpoints_with_its_name_checked(
    kubectl: Kubectl, hooks: WebhookServer
) -> None:
    hooks.answers["/check"] = deny_red
    service = f"""
apiVersion: v1
kind: Service
metadata: {{name: hooks}}
spec: {{ports: [{{port: 443, targetPort: {hooks.port}}}]}}
---
apiVersion: v1
kind: Endpoints
metadata: {{name: hooks}}
subsets: [{{addresses: [{{ip: 127.0.0.1}}], ports: [{{port: {hooks.port}}}]}}]
"""
    await kubectl.ok("apply", "-f", "-", stdin=service)
    ref = {"service": {"namespace": "default", "name": "hooks", "path": "/check"}}
    config = json.dumps({**ref, "caBundle": hooks.ca_bundle})
    await kubectl.ok(
        "apply", "-f", "-",
        stdin=configuration("ValidatingWebhookConfiguration", "svc.teams.example.com", config),
    )  # fmt: skip
    refused = await kubectl("apply", "-f", "-", stdin=POD % ("red-pod", "red"))
    assert "team red may not run pods here" in refused.err
    assert len(hooks.reviews["/check"]) == 1
    stored = json.loads(
        await kubectl.ok(
            "get", "validatingwebhookconfiguration", "svc.teams.example.com", "-o", "json"
        )
    )
    # v1's defaults, as kubectl shows them.
    webhook = stored["webhooks"][0]
    assert webhook["clientConfig"]["service"]["port"] == 443
    assert (webhook["failurePolicy"], webhook["matchPolicy"], webhook["timeoutSeconds"]) == (
        "Fail", "Equivalent", 10,
    )  # fmt: skip


async def test_a_service_webhook_whose_certificate_names_another_host_fails_the_write(
    kubectl: Kubectl, hooks: WebhookServer
) -> None:
    service = f"""
apiVersion: v1
kind: Service
metadata: {{name: other}}
spec: {{ports: [{{port: 443}}]}}
---
apiVersion: v1
kind: Endpoints
metadata: {{name: other}}
subsets: [{{addresses: [{{ip: 127.0.0.1}}], ports: [{{port: {hooks.port}}}]}}]
"""
    await kubectl.ok("apply", "-f", "-", stdin=service)
    ref = {"service": {"namespace": "default", "name": "other"}, "caBundle": hooks.ca_bundle}
    config = configuration(
        "ValidatingWebhookConfiguration", "other.teams.example.com", json.dumps(ref)
    )
    await kubectl.ok("apply", "-f", "-", stdin=config)
    refused = await kubectl("apply", "-f", "-", stdin=POD % ("blue-pod", "blue"))
    assert refused.code == 1
    assert (
        'Internal error occurred: failed calling webhook "other.teams.example.com"' in refused.err
    )
    assert 'Post "https://other.default.svc:443/?timeout=10s"' in refused.err
    assert "certificate" in refused.err.lower()


@pytest.mark.parametrize("policy", ["Fail", "Ignore"])
async def test_an_unreachable_webhook_fails_the_write_unless_its_policy_ignores_it(
    kubectl: Kubectl, policy: str
) -> None:
    url = json.dumps({"url": f"https://127.0.0.1:{free_port()}/gone"})
    config = configuration(
        "ValidatingWebhookConfiguration", "gone.teams.example.com", url,
        f"  failurePolicy: {policy}\n  timeoutSeconds: 2\n",
    )  # fmt: skip
    await kubectl.ok("apply", "-f", "-", stdin=config)
    ran = await kubectl("apply", "-f", "-", stdin=POD % ("blue-pod", "blue"))
    if policy == "Ignore":
        assert ran.code == 0, ran.err
    else:
        assert ran.code == 1
        assert ran.err.startswith(
            'Error from server (InternalError): error when creating "STDIN": Internal error '
            'occurred: failed calling webhook "gone.teams.example.com": failed to call webhook: '
            'Post "https://127.0.0.1:'
        ), ran.err


async def test_a_configuration_the_server_could_never_call_is_refused_naming_the_fields(
    kubectl: Kubectl,
) -> None:
    config = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: bad}
webhooks:
- name: short
  clientConfig: {url: "http://hooks.example.com/x"}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [MAKE], resources: [pods]}]
  admissionReviewVersions: [v2]
  timeoutSeconds: 31
"""
    refused = await kubectl("apply", "-f", "-", stdin=config)
    assert refused.code == 1
    for expected in (
        'webhooks[0].name: Invalid value: "short": should be a domain with at least three '
        "segments separated by dots",
        'webhooks[0].rules[0].operations[0]: Unsupported value: "MAKE"',
        'webhooks[0].sideEffects: Required value: must specify one of "None", "NoneOnDryRun"',
        "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 "
        "and 30 seconds",
        "webhooks[0].admissionReviewVersions: Invalid value:",
        "webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL "
        "scheme",
    ):
        assert expected in refused.err, refused.err


async def test_selectors_and_match_conditions_choose_the_writes_and_warnings_reach_kubectl(
    kubectl: Kubectl, hooks: WebhookServer
) -> None:
    hooks.answers["/warn"] = lambda request: {
        "allowed": True,
        "warnings": ["pods here are watched"],
    }
    url = json.dumps({"url": hooks.url("/warn"), "caBundle": hooks.ca_bundle})
    extra = """  namespaceSelector: {matchLabels: {watched: "yes"}}
  objectSelector: {matchExpressions: [{key: team, operator: Exists}]}
  matchConditions:
  - {name: not-the-canary, expression: "object.metadata.name != 'canary'"}
"""
    await kubectl.ok(
        "apply", "-f", "-",
        stdin=configuration("ValidatingWebhookConfiguration", "warn.teams.example.com", url, extra),
    )  # fmt: skip
    await kubectl.ok("create", "namespace", "watched")
    await kubectl.ok("label", "namespace", "watched", "watched=yes")
    plain = await kubectl("apply", "-f", "-", stdin=POD % ("in-default", "blue"))
    assert plain.code == 0 and "watched" not in plain.err
    warned = await kubectl("apply", "-n", "watched", "-f", "-", stdin=POD % ("in-watched", "blue"))
    assert warned.code == 0 and "Warning: pods here are watched" in warned.err
    canary = await kubectl("apply", "-n", "watched", "-f", "-", stdin=POD % ("canary", "blue"))
    assert canary.code == 0 and "watched" not in canary.err
    unlabelled = POD.replace(", labels: {team: %s}", "") % "bare"
    bare = await kubectl("apply", "-n", "watched", "-f", "-", stdin=unlabelled)
    assert bare.code == 0 and "watched" not in bare.err
    assert [r["request"]["name"] for r in hooks.reviews["/warn"]] == ["in-watched"]


async def test_a_webhook_asking_to_be_reinvoked_sees_what_a_later_webhook_changed(
    kubectl: Kubectl, hooks: WebhookServer
) -> None:
    def stamp(request: dict[str, Any]) -> dict[str, Any]:
        labels = request["object"]["metadata"].get("labels", {})
        return patch_answer(
            [{"op": "add", "path": "/metadata/annotations",
              "value": {"seen-team": labels.get("team", "")}}]
        )  # fmt: skip

    hooks.answers["/a-stamp"] = stamp
    hooks.answers["/b-paint"] = lambda request: patch_answer(
        [{"op": "replace", "path": "/metadata/labels/team", "value": "green"}]
    )
    first = json.dumps({"url": hooks.url("/a-stamp"), "caBundle": hooks.ca_bundle})
    second = json.dumps({"url": hooks.url("/b-paint"), "caBundle": hooks.ca_bundle})
    await kubectl.ok(
        "apply", "-f", "-",
        stdin=configuration("MutatingWebhookConfiguration", "a.stamp.example.com", first,
                            "  reinvocationPolicy: IfNeeded\n")
        + "---" + configuration("MutatingWebhookConfiguration", "b.paint.example.com", second),
    )  # fmt: skip
    await kubectl.ok("apply", "-f", "-", stdin=POD % ("blue-pod", "blue"))
    stored = json.loads(await kubectl.ok("get", "pod", "blue-pod", "-o", "json"))
    assert stored["metadata"]["labels"] == {"team": "green"}
    assert stored["metadata"]["annotations"]["seen-team"] == "green"
    assert len(hooks.reviews["/a-stamp"]) == 2 and len(hooks.reviews["/b-paint"]) == 1


async def test_writes_through_grpc_meet_the_same_webhooks(
    apiserver: ApiServer, kubectl: Kubectl, hooks: WebhookServer
) -> None:
    await deny_red_pods(kubectl, hooks)
    pod = from_dict(core_pb2.Pod, yaml.safe_load(POD % ("red-pod", "red")))
    async with ApiClient([apiserver.endpoint]) as api:
        with pytest.raises(errors.ApiError, match="team red may not run pods here"):
            await api.create(pod)
