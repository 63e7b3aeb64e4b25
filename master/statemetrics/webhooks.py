"""Admission webhook configurations: kube-state-metrics' kube_validatingwebhookconfiguration_*
and kube_mutatingwebhookconfiguration_* families.

kube-state-metrics (internal/store/validatingwebhookconfiguration.go and its mutating twin)
labels a configuration by a label named after its kind, with an empty `namespace` since
the kind is cluster-scoped, and reports each webhook that calls a Service; one function
serves both kinds because their series differ only in that name.
"""

from __future__ import annotations

from master.statemetrics.families import Families
from proto import admissionregistration_pb2 as ar

__all__ = ["mutating_metrics", "validating_metrics"]


def _metrics(
    config: ar.ValidatingWebhookConfiguration | ar.MutatingWebhookConfiguration,
    kind: str,
    out: Families,
) -> None:
    m = config.metadata
    family = kind.lower()
    labels = {"namespace": "", family: m.name}
    out.gauge(f"kube_{family}_info", f"Information about the {kind}.", labels, 1)
    out.created(family, kind, labels, m.creation_timestamp)
    out.gauge(
        f"kube_{family}_metadata_resource_version",
        f"The {kind}'s resourceVersion.",
        labels,
        int(m.resource_version or 0),
    )
    for hook in config.webhooks:
        if not hook.client_config.HasField("service"):
            continue
        service = hook.client_config.service
        out.gauge(
            f"kube_{family}_webhook_clientconfig_service",
            "The Service a webhook of the configuration calls.",
            {
                **labels,
                "webhook_name": hook.name,
                "service_name": service.name,
                "service_namespace": service.namespace,
            },
            1,
        )


def validating_metrics(config: ar.ValidatingWebhookConfiguration, out: Families) -> None:
    """Every kube_validatingwebhookconfiguration_* series of one configuration."""
    _metrics(config, "ValidatingWebhookConfiguration", out)


def mutating_metrics(config: ar.MutatingWebhookConfiguration, out: Families) -> None:
    """Every kube_mutatingwebhookconfiguration_* series of one configuration."""
    _metrics(config, "MutatingWebhookConfiguration", out)
