"""The Prometheus collector over the leader's informer caches, and its switch.

`StateMetrics` is created once per process and registered in its own registry (served at
the controller manager's /metrics/state); each leader term hands it the term's synced
informers with `serve()` and takes them back with `stop()`, so a standby, or a leader
whose caches have not listed yet, serves no kube_* series at all rather than wrong ones.
A scrape reads the caches without copying (nothing here modifies an object) on the event
loop, which is the only place the caches may be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from master.statemetrics import (
    autoscaling,
    certificates,
    core,
    cronjobs,
    ingresses,
    networkpolicies,
    nodes,
    pods,
    statefulsets,
    webhooks,
    workloads,
)
from master.statemetrics import storage as storage_metrics
from master.statemetrics.families import Families

log = structlog.get_logger("statemetrics")

Generator = Callable[[Any, Families], None]

GENERATORS: dict[str, Generator] = {
    "namespaces": core.namespace_metrics,
    "nodes": nodes.node_metrics,
    "pods": pods.pod_metrics,
    "services": core.service_metrics,
    "endpoints": core.endpoints_metrics,
    "endpointslices": core.endpoint_slice_metrics,
    "configmaps": core.configmap_metrics,
    "secrets": core.secret_metrics,
    "leases": core.lease_metrics,
    "resourcequotas": core.resourcequota_metrics,
    "serviceaccounts": core.serviceaccount_metrics,
    "limitranges": core.limitrange_metrics,
    "poddisruptionbudgets": core.pod_disruption_budget_metrics,
    "deployments": workloads.deployment_metrics,
    "replicasets": workloads.replicaset_metrics,
    "replicationcontrollers": workloads.replicationcontroller_metrics,
    "daemonsets": workloads.daemonset_metrics,
    "jobs": workloads.job_metrics,
    "cronjobs": cronjobs.cron_job_metrics,
    "horizontalpodautoscalers": autoscaling.hpa_metrics,
    "ingresses": ingresses.ingress_metrics,
    "ingressclasses": ingresses.ingress_class_metrics,
    "networkpolicies": networkpolicies.network_policy_metrics,
    "statefulsets": statefulsets.stateful_set_metrics,
    "persistentvolumes": storage_metrics.volume_metrics,
    "persistentvolumeclaims": storage_metrics.claim_metrics,
    "storageclasses": storage_metrics.storage_class_metrics,
    "validatingwebhookconfigurations": webhooks.validating_metrics,
    "mutatingwebhookconfigurations": webhooks.mutating_metrics,
    "certificatesigningrequests": certificates.csr_metrics,
}
"""Resource → the function writing one object's series. A new kind adds one line here,
or one in NO_FAMILY saying why it has none."""

NO_FAMILY: dict[str, str] = {
    "events": "kube-state-metrics has no family for Events (they are a log, not state)",
    "priorityclasses": "kube-state-metrics has no family for PriorityClasses",
    "runtimeclasses": "kube-state-metrics has no family for RuntimeClasses",
    **{
        r: "kube-state-metrics has no family for API Priority and Fairness' configuration"
        for r in ("flowschemas", "prioritylevelconfigurations")
    },
    "controllerrevisions": "kube-state-metrics has no family for ControllerRevisions",
    **{
        r: "kube-state-metrics has no family for admission policies"
        for r in ("validatingadmissionpolicies", "validatingadmissionpolicybindings")
    },
    "customresourcedefinitions": (
        "kube-state-metrics serves custom resources only through its CustomResourceStateMetrics "
        "configuration, which Tugboat does not have"
    ),
    **{
        r: "kube-state-metrics' RBAC families (kube_role_info, ...) are off by default there"
        for r in ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
    },
}


class Cache(Protocol):
    """What is read of an informer."""

    def list(self, *, copy: bool = True) -> list[Any]: ...


class StateMetrics(Collector):
    """kube-state-metrics' families from the caches it is serving, or nothing."""

    resources = tuple(GENERATORS)

    def __init__(self) -> None:
        self._caches: Mapping[str, Cache] | None = None

    def serve(self, caches: Mapping[str, Cache]) -> None:
        """From now on, serve these (synced) caches: resource → informer."""
        missing = [r for r in GENERATORS if r not in caches]
        if missing:
            raise ValueError(f"state metrics need informers for {', '.join(missing)}")
        self._caches = caches
        log.info("serving cluster-state metrics", resources=len(caches))

    def stop(self) -> None:
        """Serve nothing (the term ended)."""
        if self._caches is not None:
            log.info("no longer serving cluster-state metrics")
        self._caches = None

    @property
    def serving(self) -> bool:
        return self._caches is not None

    def collect(self) -> Iterable[Metric]:
        caches = self._caches
        if caches is None:
            return []
        out = Families()
        for resource, generate in GENERATORS.items():
            for obj in caches[resource].list(copy=False):
                generate(obj, out)
        return out.all()


def state_registry(state: StateMetrics) -> CollectorRegistry:
    """A registry of its own, so /metrics/state serves only the kube_* series."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(state)
    return registry
