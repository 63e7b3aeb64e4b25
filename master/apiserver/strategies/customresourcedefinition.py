"""CustomResourceDefinitions: defaults, validation, and the status the server owns.

Kubernetes fills a CRD's status from controllers inside apiextensions-apiserver (naming,
establishing). Here the strategy fills it as the CRD is written: Tugboat refuses a CRD
whose names conflict (validation/apiextensions.py) instead of storing it with
NamesAccepted=False, so every stored CRD has its names accepted and is established at
once. That is true of every API server, not only the one that wrote it: each reads the
CRDs again when a path or the group list may name a kind it has not heard of yet
(customresources/serving.py), so kubectl mapping a kind right after `kubectl wait
--for=condition=Established` finds it. A new CRD gets the
`customresourcecleanup.apiextensions.k8s.io` finalizer, as in Kubernetes: deleting the
CRD first deletes every object of its kind
(customresources/serving.py), then lets the CRD go.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from client.timestamps import now
from master.apiserver.strategies._webhooks import DEFAULT_SERVICE_PORT
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import apiextensions
from master.apiserver.validation.errors import Errors
from proto import meta_pb2

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def _condition(crd: Any, type_: str, reason: str, message: str) -> None:
    for existing in crd.status.conditions:
        if existing.type == type_:
            if existing.status != "True":
                existing.status, existing.last_transition_time = "True", now()
            existing.reason, existing.message = reason, message
            return
    crd.status.conditions.append(
        meta_pb2.Condition(
            type=type_, status="True", reason=reason, message=message, last_transition_time=now()
        )
    )


class CustomResourceDefinitionStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        obj.ClearField("status")
        if CLEANUP_FINALIZER not in obj.metadata.finalizers:
            obj.metadata.finalizers.append(CLEANUP_FINALIZER)

    def default(self, obj: Any) -> None:
        names = obj.spec.names
        if names.kind and not names.singular:
            names.singular = names.kind.lower()
        if names.kind and not names.list_kind:
            names.list_kind = f"{names.kind}List"
        if not obj.spec.HasField("conversion") or not obj.spec.conversion.strategy:
            obj.spec.conversion.strategy = "None"
        config = obj.spec.conversion.webhook.client_config
        if config.HasField("service") and not config.service.HasField("port"):
            config.service.port = DEFAULT_SERVICE_PORT
        # The status is the server's: names accepted, established, versions stored.
        obj.status.accepted_names.CopyFrom(names)
        _condition(obj, "NamesAccepted", "NoConflicts", "no conflicts found")
        _condition(
            obj, "Established", "InitialNamesAccepted", "the initial names have been accepted"
        )
        for version in obj.spec.versions:
            if version.storage and version.name not in obj.status.stored_versions:
                obj.status.stored_versions.append(version.name)

    def validate(self, errs: Errors, obj: Any) -> None:
        apiextensions.validate_crd(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        apiextensions.validate_crd_update(errs, new, old)


STRATEGY = CustomResourceDefinitionStrategy(by_resource("customresourcedefinitions"))
