"""CertificateSigningRequest state metrics: kube-state-metrics' families, names and labels."""

from __future__ import annotations

import base64

import pytest
from prometheus_client.parser import text_string_to_metric_families

from master.statemetrics.collector import StateMetrics
from tests.unit.statemetrics.test_state_metrics import caches, exposition_of, samples, value

ISSUED = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

OBJECTS = f"""
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: ann
  creationTimestamp: "2026-01-01T00:00:00Z"
  labels: {{team: payments}}
  annotations: {{owner: ann}}
spec:
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
status:
  conditions:
  - {{type: Approved, status: "True", reason: AutoApproved}}
  certificate: {base64.b64encode(ISSUED).decode()}
---
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {{name: bob}}
spec:
  signerName: example.com/serving
  usages: [server auth]
---
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {{name: eve}}
spec:
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
status:
  conditions:
  - {{type: Denied, status: "True"}}
  - {{type: Failed, status: "False"}}
"""

ANN = {"certificatesigningrequest": "ann", "signer_name": "kubernetes.io/kube-apiserver-client"}


@pytest.fixture
def exposition() -> str:
    return exposition_of(OBJECTS)


def test_every_series_of_a_request_is_labelled_by_its_name_and_signer_only(
    exposition: str,
) -> None:
    created = samples(exposition, "kube_certificatesigningrequest_created")
    assert [dict(k) for k in created] == [ANN]
    assert created[frozenset(ANN.items())] == 1767225600
    lengths = samples(exposition, "kube_certificatesigningrequest_cert_length")
    assert {dict(k)["signer_name"] for k in lengths} == {
        "kubernetes.io/kube-apiserver-client",
        "example.com/serving",
    }
    assert all(set(dict(k)) == {"certificatesigningrequest", "signer_name"} for k in lengths)


def test_an_approved_request_counts_one_approved_condition_and_no_others(
    exposition: str,
) -> None:
    condition = "kube_certificatesigningrequest_condition"
    assert value(exposition, condition, condition="approved", **ANN) == 1
    assert value(exposition, condition, condition="denied", **ANN) == 0
    assert value(exposition, condition, condition="failed", **ANN) == 0


def test_a_condition_counts_by_its_type_whatever_its_status(exposition: str) -> None:
    condition = "kube_certificatesigningrequest_condition"
    eve = {"certificatesigningrequest": "eve"}
    assert value(exposition, condition, condition="denied", **eve) == 1
    assert value(exposition, condition, condition="failed", **eve) == 1
    assert value(exposition, condition, condition="approved", **eve) == 0


def test_a_pending_request_has_all_three_conditions_at_zero(exposition: str) -> None:
    bob = {"certificatesigningrequest": "bob", "signer_name": "example.com/serving"}
    found = samples(exposition, "kube_certificatesigningrequest_condition")
    assert {dict(k)["condition"]: v for k, v in found.items() if set(bob.items()) <= k} == {
        "approved": 0,
        "denied": 0,
        "failed": 0,
    }


def test_cert_length_is_the_issued_pem_s_length_and_zero_until_issued(exposition: str) -> None:
    length = "kube_certificatesigningrequest_cert_length"
    assert value(exposition, length, **ANN) == len(ISSUED)
    assert value(exposition, length, certificatesigningrequest="bob") == 0


def test_requests_get_kube_state_metrics_default_families_and_no_labels_or_annotations(
    exposition: str,
) -> None:
    # _labels and _annotations have samples there only with an allow-list, and Tugboat
    # has none: a request's labels and annotations above must not turn into series.
    served = {
        f.name
        for f in text_string_to_metric_families(exposition)
        if f.name.startswith("kube_certificatesigningrequest_")
    }
    assert served == {
        "kube_certificatesigningrequest_created",
        "kube_certificatesigningrequest_condition",
        "kube_certificatesigningrequest_cert_length",
    }


def test_the_controller_manager_asks_for_a_certificatesigningrequests_informer() -> None:
    assert "certificatesigningrequests" in StateMetrics.resources
    partial = caches(OBJECTS)
    del partial["certificatesigningrequests"]
    with pytest.raises(ValueError, match="certificatesigningrequests"):
        StateMetrics().serve(partial)
