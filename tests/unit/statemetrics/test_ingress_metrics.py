"""Ingress and IngressClass state metrics: kube-state-metrics' families, names and labels."""

from __future__ import annotations

from tests.unit.statemetrics.test_state_metrics import exposition_of, samples, value

OBJECTS = """
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: tugboat, creationTimestamp: "2026-01-01T00:00:00Z"}
spec: {controller: tugboat.io/ingress}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: web, resourceVersion: "42"}
spec:
  ingressClassName: tugboat
  tls: [{hosts: [shop.test, "*.shop.test"], secretName: shop-tls}]
  rules:
  - host: shop.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: front, port: {number: 80}}}}
      - {path: /api, pathType: Exact, backend: {service: {name: api, port: {name: http}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: classless, namespace: web}
spec:
  defaultBackend: {service: {name: front, port: {number: 80}}}
"""


def exposition() -> str:
    return exposition_of(OBJECTS)


def test_an_ingress_shows_its_class_paths_and_tls_hosts() -> None:
    text = exposition()

    assert value(text, "kube_ingress_info", ingress="shop", ingressclass="tugboat") == 1
    assert value(text, "kube_ingress_info", ingress="classless", ingressclass="_default") == 1
    assert value(text, "kube_ingress_metadata_resource_version", ingress="shop") == 42
    paths = samples(text, "kube_ingress_path")
    assert {(dict(k)["path"], dict(k)["service_name"], dict(k)["service_port"]) for k in paths} == {
        ("/", "front", "80"),
        ("/api", "api", "http"),
    }
    tls = samples(text, "kube_ingress_tls")
    assert {dict(k)["tls_host"] for k in tls} == {"shop.test", "*.shop.test"}
    assert {dict(k)["secret"] for k in tls} == {"shop-tls"}


def test_an_ingress_class_shows_its_controller_and_creation_time() -> None:
    text = exposition()

    assert (
        value(
            text, "kube_ingressclass_info", ingressclass="tugboat", controller="tugboat.io/ingress"
        )
        == 1
    )
    assert value(text, "kube_ingressclass_created", ingressclass="tugboat") == 1767225600
