"""Namespaces, Services, Endpoints, EndpointSlices, ConfigMaps, Secrets, Leases,
ResourceQuotas, LimitRanges and PodDisruptionBudgets."""

from __future__ import annotations

from client.quantity import parse_quantity
from master.statemetrics.families import Families
from proto import core_pb2, discovery_pb2, policy_pb2, workloads_pb2

NAMESPACE_PHASES = ("Active", "Terminating")


def namespace_metrics(ns: core_pb2.Namespace, out: Families) -> None:
    """kube_namespace_*."""
    labels = {"namespace": ns.metadata.name}
    out.created("namespace", "namespace", labels, ns.metadata.creation_timestamp)
    out.one_of(
        "kube_namespace_status_phase",
        "The namespace's phase.",
        labels,
        "phase",
        NAMESPACE_PHASES,
        ns.status.phase or "Active",
    )


def service_metrics(svc: core_pb2.Service, out: Families) -> None:
    """kube_service_*."""
    m, spec = svc.metadata, svc.spec
    labels = {"namespace": m.namespace, "service": m.name, "uid": m.uid}
    ingress = svc.status.load_balancer.ingress
    out.gauge(
        "kube_service_info",
        "Information about a Service.",
        {
            **labels,
            "cluster_ip": spec.cluster_ip,
            "external_name": spec.external_name,
            "load_balancer_ip": ingress[0].ip if ingress else "",
        },
        1,
    )
    out.created("service", "Service", labels, m.creation_timestamp)
    out.gauge(
        "kube_service_spec_type",
        "The Service's type.",
        {**labels, "type": spec.type or "ClusterIP"},
        1,
    )
    for i in ingress:
        out.gauge(
            "kube_service_status_load_balancer_ingress",
            "The Service's load-balancer addresses.",
            {**labels, "ip": i.ip, "hostname": i.hostname},
            1,
        )


def endpoint_slice_metrics(slice_: discovery_pb2.EndpointSlice, out: Families) -> None:
    """kube_endpointslice_*: one series per slice, as kube-state-metrics' info family."""
    m = slice_.metadata
    labels = {"namespace": m.namespace, "endpointslice": m.name}
    out.gauge(
        "kube_endpointslice_info",
        "Information about an EndpointSlice.",
        {**labels, "addresstype": slice_.address_type},
        1,
    )
    out.created("endpointslice", "EndpointSlice", labels, m.creation_timestamp)


def endpoints_metrics(ep: core_pb2.Endpoints, out: Families) -> None:
    """kube_endpoint_*: addresses ready and not, per Endpoints object."""
    m = ep.metadata
    labels = {"namespace": m.namespace, "endpoint": m.name}
    out.gauge("kube_endpoint_info", "Information about an Endpoints object.", labels, 1)
    out.created("endpoint", "Endpoints object", labels, m.creation_timestamp)
    ready = sum(len(s.addresses) for s in ep.subsets)
    not_ready = sum(len(s.not_ready_addresses) for s in ep.subsets)
    out.gauge("kube_endpoint_address_available", "Ready addresses of the Service.", labels, ready)
    out.gauge(
        "kube_endpoint_address_not_ready", "Addresses of the Service not ready.", labels, not_ready
    )
    for subset in ep.subsets:
        for addresses, is_ready in (
            (subset.addresses, "true"),
            (subset.not_ready_addresses, "false"),
        ):
            for a in addresses:
                out.gauge(
                    "kube_endpoint_address",
                    "One address of the Service and readiness.",
                    {**labels, "ip": a.ip, "ready": is_ready},
                    1,
                )


def configmap_metrics(cm: core_pb2.ConfigMap, out: Families) -> None:
    """kube_configmap_*."""
    m = cm.metadata
    labels = {"namespace": m.namespace, "configmap": m.name}
    out.gauge("kube_configmap_info", "Information about a ConfigMap.", labels, 1)
    out.created("configmap", "ConfigMap", labels, m.creation_timestamp)
    if m.resource_version.isdigit():
        out.gauge(
            "kube_configmap_metadata_resource_version",
            "The ConfigMap's resourceVersion.",
            labels,
            int(m.resource_version),
        )


def secret_metrics(secret: core_pb2.Secret, out: Families) -> None:
    """kube_secret_* (never the data)."""
    m = secret.metadata
    labels = {"namespace": m.namespace, "secret": m.name}
    out.gauge("kube_secret_info", "Information about a Secret.", labels, 1)
    out.gauge(
        "kube_secret_type", "The Secret's type.", {**labels, "type": secret.type or "Opaque"}, 1
    )
    out.created("secret", "Secret", labels, m.creation_timestamp)


def lease_metrics(lease: workloads_pb2.Lease, out: Families) -> None:
    """kube_lease_*: who holds each Lease (nodes' heartbeats, components' leaders) and when
    it was last renewed."""
    m, spec = lease.metadata, lease.spec
    labels = {"namespace": m.namespace, "lease": m.name}
    owner = next(iter(m.owner_references), None)
    out.gauge(
        "kube_lease_owner",
        "The Lease's owner and holder.",
        {
            **labels,
            "owner_kind": owner.kind if owner else "",
            "owner_name": owner.name if owner else "",
            "lease_holder": spec.holder_identity,
        },
        1,
    )
    out.timestamp(
        "kube_lease_renew_time", "Unix time the Lease was last renewed.", labels, spec.renew_time
    )


def resourcequota_metrics(quota: policy_pb2.ResourceQuota, out: Families) -> None:
    """kube_resourcequota: each resource's hard limit and counted usage."""
    m = quota.metadata
    labels = {"namespace": m.namespace, "resourcequota": m.name}
    out.created("resourcequota", "ResourceQuota", labels, m.creation_timestamp)
    for kind, values in (
        ("hard", quota.status.hard or quota.spec.hard),
        ("used", quota.status.used),
    ):
        for resource, text in sorted(values.items()):
            out.gauge("kube_resourcequota", "A ResourceQuota's hard limit or usage.",
                      {**labels, "resource": resource, "type": kind},
                      float(parse_quantity(text)))  # fmt: skip


def limitrange_metrics(ranges: policy_pb2.LimitRange, out: Families) -> None:
    """kube_limitrange: each constraint of each item."""
    m = ranges.metadata
    labels = {"namespace": m.namespace, "limitrange": m.name}
    out.created("limitrange", "LimitRange", labels, m.creation_timestamp)
    for item in ranges.spec.limits:
        constraints = {
            "min": item.min, "max": item.max, "default": item.default,
            "defaultRequest": item.default_request,
            "maxLimitRequestRatio": item.max_limit_request_ratio,
        }  # fmt: skip
        for constraint, values in constraints.items():
            for resource, text in sorted(values.items()):
                out.gauge("kube_limitrange", "A LimitRange's constraint on a resource.",
                          {**labels, "type": item.type, "resource": resource,
                           "constraint": constraint}, float(parse_quantity(text)))  # fmt: skip


def serviceaccount_metrics(sa: policy_pb2.ServiceAccount, out: Families) -> None:
    """kube_serviceaccount_*."""
    m = sa.metadata
    labels = {"namespace": m.namespace, "serviceaccount": m.name}
    out.gauge("kube_serviceaccount_info", "Information about a ServiceAccount.",
              {**labels, "uid": m.uid}, 1)  # fmt: skip
    out.created("serviceaccount", "ServiceAccount", labels, m.creation_timestamp)
    if sa.HasField("automount_service_account_token"):
        out.gauge("kube_serviceaccount_automount_token",
                  "Whether the ServiceAccount's token is mounted into pods by default.",
                  labels, int(sa.automount_service_account_token))  # fmt: skip


def pod_disruption_budget_metrics(pdb: policy_pb2.PodDisruptionBudget, out: Families) -> None:
    """kube_poddisruptionbudget_*: the status the disruption controller keeps."""
    m, status = pdb.metadata, pdb.status
    labels = {"namespace": m.namespace, "poddisruptionbudget": m.name}
    out.created("poddisruptionbudget", "PodDisruptionBudget", labels, m.creation_timestamp)
    for name, help_text, value in (
        ("status_current_healthy", "Current number of healthy pods.", status.current_healthy),
        (
            "status_desired_healthy",
            "Minimum desired number of healthy pods.",
            status.desired_healthy,
        ),
        (
            "status_pod_disruptions_allowed",
            "Number of pod disruptions that are currently allowed.",
            status.disruptions_allowed,
        ),
        (
            "status_expected_pods",
            "Total number of pods counted by this disruption budget.",
            status.expected_pods,
        ),
        (
            "status_observed_generation",
            "Most recent generation observed when updating this PDB status.",
            status.observed_generation,
        ),
    ):
        out.gauge(f"kube_poddisruptionbudget_{name}", help_text, labels, value)
