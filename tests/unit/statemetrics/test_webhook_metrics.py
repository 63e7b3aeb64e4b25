"""Webhook configuration state metrics: kube-state-metrics' families, names and labels."""

from __future__ import annotations

from tests.unit.statemetrics.test_state_metrics import exposition_of, samples, value

OBJECTS = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: guard, resourceVersion: "7", creationTimestamp: "2026-01-01T00:00:00Z"}
webhooks:
- name: by-service.guard.example.com
  clientConfig: {service: {namespace: hooks, name: guard}}
  sideEffects: None
  admissionReviewVersions: [v1]
- name: by-url.guard.example.com
  clientConfig: {url: "https://guard.example.com/"}
  sideEffects: None
  admissionReviewVersions: [v1]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: paint}
webhooks: []
"""


def exposition() -> str:
    return exposition_of(OBJECTS)


def test_webhook_configurations_show_their_info_version_and_the_services_they_call() -> None:
    text = exposition()

    guard = {"validatingwebhookconfiguration": "guard"}
    assert value(text, "kube_validatingwebhookconfiguration_info", **guard) == 1
    assert value(text, "kube_validatingwebhookconfiguration_created", **guard) == 1767225600
    assert (
        value(text, "kube_validatingwebhookconfiguration_metadata_resource_version", **guard) == 7
    )
    called = samples(text, "kube_validatingwebhookconfiguration_webhook_clientconfig_service")
    assert [dict(k) for k in called] == [
        {
            "namespace": "",
            "validatingwebhookconfiguration": "guard",
            "webhook_name": "by-service.guard.example.com",
            "service_name": "guard",
            "service_namespace": "hooks",
        }
    ]
    assert (
        value(text, "kube_mutatingwebhookconfiguration_info", mutatingwebhookconfiguration="paint")
        == 1
    )
