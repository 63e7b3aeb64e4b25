"""A kopf operator with admission webhooks, as kopf's docs write one: kopf serves the
webhooks itself and keeps their configurations (`auto.kopf.dev`) in the cluster. A
ConfigMap holding a key `forbidden` is refused; every ConfigMap is labelled
`stamped-by=kopf`. Run by tests/integration/apiserver/test_rest_kopf.py, which passes
the webhook's port and certificate files in the environment."""

from __future__ import annotations

import os
from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.peering.standalone = True
    settings.posting.enabled = False
    settings.admission.server = kopf.WebhookServer(
        addr="127.0.0.1",
        host="127.0.0.1",
        port=int(os.environ["WEBHOOK_PORT"]),
        certfile=os.environ["WEBHOOK_CERT"],
        pkeyfile=os.environ["WEBHOOK_KEY"],
        cafile=os.environ["WEBHOOK_CA"],
    )
    settings.admission.managed = "auto.kopf.dev"


@kopf.on.validate("configmaps")
def refuse_forbidden(body: kopf.Body, **_: Any) -> None:
    if "forbidden" in (body.get("data") or {}):
        raise kopf.AdmissionError("the key 'forbidden' is not allowed", code=403)


@kopf.on.mutate("configmaps")
def stamp(patch: kopf.Patch, **_: Any) -> None:
    patch.metadata.labels["stamped-by"] = "kopf"
