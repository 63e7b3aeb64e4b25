"""Generic ephemeral volumes in pods and pod templates (validation/claims.py): one volume
source, a claim template whose spec is checked as a claim's and whose metadata carries
labels and annotations only, and a claim name `<pod>-<volume>` that is a valid name."""

from __future__ import annotations

from typing import Any

import pytest

from proto import core_pb2
from tests.unit.apiserver.validation.cases import (
    CONTAINER,
    RFC1123_SUBDOMAIN,
    Case,
    assert_named,
    errors_of,
    invalid_params,
    make_object,
)

CLAIM_SPEC = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
TEMPLATE = {"metadata": {"labels": {"type": "scratch"}}, "spec": CLAIM_SPEC}
MOUNT = [{**CONTAINER, "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}]
V0 = "spec.volumes[0]"
T0 = f"{V0}.ephemeral.volumeClaimTemplate"
TV0 = "spec.template.spec.volumes[0]"


def ephemeral(template: Any = TEMPLATE, **extra: Any) -> list[dict[str, Any]]:
    """One volume `scratch` with `ephemeral.volumeClaimTemplate` `template`."""
    source = {} if template is None else {"volumeClaimTemplate": template}
    return [{"name": "scratch", "ephemeral": source, **extra}]


def template(spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    return {"metadata": metadata, "spec": {**CLAIM_SPEC, **(spec or {})}}


def pod_with(volumes: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    return {"spec.volumes": volumes, "spec.containers": MOUNT, **changes}


CASES: list[Case] = [
    ("Pod", pod_with(ephemeral(None)), f"{V0}.ephemeral.volumeClaimTemplate: Required value",
     "an ephemeral volume without a claim template"),
    ("Pod", pod_with(ephemeral(emptyDir={})),
     f"{V0}.ephemeral: Forbidden: may not specify more than 1 volume type",
     "an ephemeral volume with a second source"),
    ("Pod", pod_with(ephemeral(template({"accessModes": []}))),
     f"{T0}.spec.accessModes: Required value: at least 1 access mode is required",
     "a claim template without access modes"),
    ("Pod", pod_with(ephemeral(template({"resources": {}}))),
     f"{T0}.spec.resources[storage]: Required value", "a claim template without a size"),
    ("Pod", pod_with(ephemeral(template({"resources": {"requests": {"storage": "0"}}}))),
     f'{T0}.spec.resources[storage]: Invalid value: "0": must be greater than zero',
     "a claim template for nothing"),
    ("Pod", pod_with(ephemeral(template({"storageClassName": "Fast_One"}))),
     f'{T0}.spec.storageClassName: Invalid value: "Fast_One": {RFC1123_SUBDOMAIN}',
     "a claim template whose class name is no name"),
    ("Pod", pod_with(ephemeral(template({"volumeMode": "Raw"}))),
     f'{T0}.spec.volumeMode: Unsupported value: "Raw"', "a claim template's unknown mode"),
    ("Pod", pod_with(ephemeral(template(name="mine"))),
     f"{T0}.metadata.name: Forbidden: cannot be set for an ephemeral volume",
     "a claim template naming its claim"),
    ("Pod", pod_with(ephemeral(template(namespace="other"))),
     f"{T0}.metadata.namespace: Forbidden: cannot be set for an ephemeral volume",
     "a claim template choosing a namespace"),
    ("Pod", pod_with(ephemeral(template(finalizers=["example.com/keep"]))),
     f"{T0}.metadata.finalizers: Forbidden: cannot be set for an ephemeral volume",
     "a claim template with finalizers"),
    ("Pod", pod_with(ephemeral(template(uid="1234"))),
     f"{T0}.metadata.uID: Forbidden: cannot be set for an ephemeral volume",
     "a claim template with a uid, named as Kubernetes names it"),
    ("Pod", pod_with(ephemeral(template(labels={"bad key!": "x"}))),
     f'{T0}.metadata.labels: Invalid value: "bad key!"', "a claim template's bad label"),
    ("Pod", pod_with(ephemeral(template(annotations={"bad key!": "x"}))),
     f'{T0}.metadata.annotations: Invalid value: "bad key!"',
     "a claim template's bad annotation"),
    ("Pod", pod_with(ephemeral(), **{"metadata.name": "p" * 250}),
     f'{V0}.name: Invalid value: "scratch": PVC name "{"p" * 250}-scratch": must be no more '
     "than 253 characters", "a pod whose claim name would be too long"),
    ("Deployment", {"spec.template.spec.volumes": ephemeral(template({"accessModes": []}))},
     f"{TV0}.ephemeral.volumeClaimTemplate.spec.accessModes: Required value",
     "a Deployment's template with a bad claim template"),
    ("Deployment", {"spec.template.spec.volumes": ephemeral(template(name="mine"))},
     f"{TV0}.ephemeral.volumeClaimTemplate.metadata.name: Forbidden: cannot be set for an "
     "ephemeral volume", "a Deployment's claim template naming its claim"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_ephemeral_volume_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


@pytest.mark.parametrize(
    "kind",
    ["Pod", "Deployment", "ReplicaSet", "DaemonSet", "Job"],
)
def test_the_docs_ephemeral_volume_is_valid_in_a_pod_and_in_every_template(kind: str) -> None:
    labelled = template(
        {"storageClassName": "local-path"}, labels={"type": "my-frontend-volume"},
        annotations={"example.com/purpose": "scratch"},
    )  # fmt: skip
    path = "spec.volumes" if kind == "Pod" else "spec.template.spec.volumes"
    assert errors_of(kind, {path: ephemeral(labelled)}) == []


def test_a_claim_template_is_defaulted_as_a_claim_is() -> None:
    _, pod = make_object("Pod", pod_with(ephemeral()))
    assert isinstance(pod, core_pb2.Pod)
    volume = pod.spec.volumes[0]
    assert volume.ephemeral.volume_claim_template.spec.volume_mode == "Filesystem"
    assert not volume.HasField("empty_dir")
