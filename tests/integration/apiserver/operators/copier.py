"""A minimal kopf operator, as a user writes one: a ConfigMap labelled `role=source` gets a
copy named `<name>-copy`. Run by tests/integration/apiserver/test_rest_kopf.py."""

from __future__ import annotations

from typing import Any

import kopf
from kubernetes import client, config


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Tugboat keeps no kopf peering resources; reconnect quickly after an API server dies.
    settings.peering.standalone = True
    settings.posting.enabled = False
    settings.watching.server_timeout = 30
    settings.watching.reconnect_backoff = 0.5
    config.load_kube_config()  # type: ignore[no-untyped-call]


@kopf.on.create("configmaps", labels={"role": "source"})
def copy(name: str, namespace: str | None, body: kopf.Body, **_: Any) -> None:
    data = dict(body.get("data") or {})
    copied = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"{name}-copy"), data=data)
    client.CoreV1Api().create_namespaced_config_map(namespace or "default", copied)
