"""CRD conversion webhooks through the real kubectl: a CronTab stored as v2 (`schedule`) and
served as v1 too (`cronSpec`) is converted by the test's webhook both ways, a list in one
review; a webhook may change labels but never a name; a failing webhook is the client's
500 in Kubernetes' words, and a CRD whose webhook could never be called is refused."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from client.api import ApiClient
from master.apiserver.server import ApiServer
from tests.integration.apiserver.kubectl import KUBECTL, Kubectl
from tests.support.webhook_server import WebhookServer

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: crontabs.stable.example.com}}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {{plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}}
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig: {client_config}
  versions:
  - name: v1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {{type: object, properties: {{cronSpec: {{type: string}}}}}}
  - name: v2
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {{type: object, properties: {{schedule: {{type: string}}}}}}
"""

V1_TAB = """
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: %s}
spec: {cronSpec: "*/5 * * * *"}
"""

RENAMES = {
    "stable.example.com/v1": ("schedule", "cronSpec"),
    "stable.example.com/v2": ("cronSpec", "schedule"),
}
"""desiredAPIVersion -> (the field it does not have, the field it has)."""


def convert(request: dict[str, Any]) -> dict[str, Any]:
    """The test's webhook: renames the one field each version names differently."""
    desired = request["desiredAPIVersion"]
    old, new = RENAMES[desired]
    converted = []
    for obj in request["objects"]:
        spec = dict(obj.get("spec", {}))
        if old in spec:
            spec[new] = spec.pop(old)
        converted.append({**obj, "apiVersion": desired, "spec": spec})
    return {"convertedObjects": converted, "result": {"status": "Success"}}


async def converting_crd(kubectl: Kubectl, hooks: WebhookServer) -> None:
    hooks.answers["/convert"] = convert
    config = json.dumps({"url": hooks.url("/convert"), "caBundle": hooks.ca_bundle})
    await kubectl.ok("apply", "-f", "-", stdin=CRD.format(client_config=config))


async def test_an_object_written_as_v1_is_stored_as_v2_and_read_back_in_either(
    kubectl: Kubectl, hooks: WebhookServer, api: ApiClient
):
    await converting_crd(kubectl, hooks)
    await kubectl.ok("apply", "-f", "-", stdin=V1_TAB % "every5")

    stored: Any = await api.get("crontabs", "default", "every5")
    assert stored.api_version == "stable.example.com/v2"
    assert json.loads(stored.content.json)["spec"] == {"schedule": "*/5 * * * *"}

    as_v1 = json.loads(
        await kubectl.ok("get", "crontabs.v1.stable.example.com", "every5", "-o", "json")
    )
    assert (as_v1["apiVersion"], as_v1["spec"]) == (
        "stable.example.com/v1",
        {"cronSpec": "*/5 * * * *"},
    )
    as_v2 = json.loads(
        await kubectl.ok("get", "crontabs.v2.stable.example.com", "every5", "-o", "json")
    )
    assert as_v2["spec"] == {"schedule": "*/5 * * * *"}
    review = hooks.reviews["/convert"][0]
    assert (review["apiVersion"], review["kind"]) == ("apiextensions.k8s.io/v1", "ConversionReview")

    # kubectl apply again in v1 finds nothing to change: it diffs against the v1 view.
    out = await kubectl.ok("apply", "-f", "-", stdin=V1_TAB % "every5")
    assert out.strip() == "crontab.stable.example.com/every5 unchanged"
    patched = V1_TAB.replace("*/5", "*/10") % "every5"
    await kubectl.ok("apply", "-f", "-", stdin=patched)
    stored = await api.get("crontabs", "default", "every5")
    assert json.loads(stored.content.json)["spec"] == {"schedule": "*/10 * * * *"}


async def test_a_list_in_another_version_is_converted_in_one_review(
    kubectl: Kubectl, hooks: WebhookServer
):
    await converting_crd(kubectl, hooks)
    for name in ("a", "b", "c"):
        await kubectl.ok("apply", "-f", "-", stdin=V1_TAB % name)
    hooks.reviews.clear()
    listed = json.loads(await kubectl.ok("get", "crontabs.v1.stable.example.com", "-o", "json"))
    assert [i["spec"] for i in listed["items"]] == [{"cronSpec": "*/5 * * * *"}] * 3
    [review] = hooks.reviews["/convert"]
    assert len(review["request"]["objects"]) == 3


async def test_a_webhook_may_relabel_but_never_rename_what_it_converts(
    kubectl: Kubectl, hooks: WebhookServer
):
    await converting_crd(kubectl, hooks)
    await kubectl.ok("apply", "-f", "-", stdin=V1_TAB % "every5")

    def meddling(request: dict[str, Any]) -> dict[str, Any]:
        answer = convert(request)
        for obj in answer["convertedObjects"]:
            obj["metadata"] = {**obj["metadata"], "name": "elsewhere", "labels": {"seen": "yes"}}
        return answer

    hooks.answers["/convert"] = meddling
    got = json.loads(
        await kubectl.ok("get", "crontabs.v1.stable.example.com", "every5", "-o", "json")
    )
    assert got["metadata"]["name"] == "every5"
    assert got["metadata"]["labels"] == {"seen": "yes"}


async def test_a_failing_webhook_fails_the_read_with_kubernetes_words(
    kubectl: Kubectl, hooks: WebhookServer
):
    await converting_crd(kubectl, hooks)
    await kubectl.ok("apply", "-f", "-", stdin=V1_TAB % "every5")
    hooks.answers["/convert"] = lambda _: {"result": {"status": "Failure", "message": "no way"}}
    ran = await kubectl("get", "crontabs.v1.stable.example.com", "every5")
    assert ran.code != 0
    assert (
        "Internal error occurred: conversion webhook for stable.example.com/v2, Kind=CronTab "
        "failed: no way" in ran.err
    ), ran.err
    # The storage version needs no conversion, so it is still read.
    await kubectl.ok("get", "crontabs.v2.stable.example.com", "every5")


async def test_a_crd_whose_webhook_could_never_be_called_is_refused(kubectl: Kubectl):
    plain_url = CRD.format(client_config=json.dumps({"url": "http://127.0.0.1:1/convert"}))
    refusals = {
        CRD.format(client_config="{}").replace("      clientConfig: {}\n", ""): (
            "spec.conversion.webhook.clientConfig: Required value: required when strategy is "
            "set to Webhook"
        ),
        plain_url: (
            "spec.conversion.webhook.clientConfig.url: Invalid value: \"http\": 'https' is the "
            "only allowed URL scheme"
        ),
        plain_url.replace("strategy: Webhook", "strategy: None"): (
            "spec.conversion.webhook: Forbidden: should be empty if conversion strategy is not "
            "set to Webhook"
        ),
    }
    for manifest, message in refusals.items():
        ran = await kubectl("apply", "-f", "-", stdin=manifest)
        assert ran.code != 0
        assert message in ran.err, ran.err


async def test_a_watch_a_json_patch_and_a_delete_in_v1_speak_v1(
    kubectl: Kubectl, hooks: WebhookServer, apiserver: ApiServer, api: ApiClient
):
    await converting_crd(kubectl, hooks)
    await kubectl.ok("apply", "-f", "-", stdin=V1_TAB % "every5")
    assert apiserver.status is not None
    url = (
        f"http://127.0.0.1:{apiserver.status.port}/apis/stable.example.com/v1/namespaces/"
        "default/crontabs?watch=1&timeoutSeconds=1&allowWatchBookmarks=true"
    )
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        events = [json.loads(line) for line in (await resp.text()).splitlines()]
    assert [(e["type"], e["object"]["apiVersion"], e["object"]["spec"]) for e in events] == [
        ("ADDED", "stable.example.com/v1", {"cronSpec": "*/5 * * * *"})
    ]

    patch = '[{"op": "replace", "path": "/spec/cronSpec", "value": "0 * * * *"}]'
    await kubectl.ok(
        "patch", "crontabs.v1.stable.example.com", "every5", "--type=json", "-p", patch
    )
    stored: Any = await api.get("crontabs", "default", "every5")
    assert json.loads(stored.content.json)["spec"] == {"schedule": "0 * * * *"}

    out = await kubectl.ok("delete", "crontabs.v1.stable.example.com", "every5")
    assert out.strip() == 'crontab.stable.example.com "every5" deleted'


async def test_a_webhook_that_is_down_fails_a_watch_before_it_starts(
    kubectl: Kubectl, hooks: WebhookServer, apiserver: ApiServer
):
    await converting_crd(kubectl, hooks)
    await kubectl.ok("apply", "-f", "-", stdin=V1_TAB % "every5")
    await hooks.stop()
    assert apiserver.status is not None
    url = (
        f"http://127.0.0.1:{apiserver.status.port}/apis/stable.example.com/v1/namespaces/"
        "default/crontabs?watch=1&timeoutSeconds=1"
    )
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 500
        answer = await resp.json()
    assert answer["message"].startswith(
        "Internal error occurred: conversion webhook for stable.example.com/v2, Kind=CronTab "
        "failed: Post "
    )
