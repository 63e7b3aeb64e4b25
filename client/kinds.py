"""The registry of kinds: which message, apiVersion, plural resource and short names each has.

Every layer (API server storage, client, CLI) names objects by their plural resource
("pods"), as Kubernetes' REST paths do; this module is the one place that maps a
resource to its kind, its message class and its CLI aliases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from google.protobuf.message import Message

from proto import (
    admissionregistration_pb2,
    apiextensions_pb2,
    autoscaling_pb2,
    certificates_pb2,
    core_pb2,
    discovery_pb2,
    flowcontrol_pb2,
    networking_pb2,
    node_pb2,
    policy_pb2,
    rbac_pb2,
    storage_pb2,
    workloads_pb2,
)

Object: TypeAlias = (
    core_pb2.Namespace
    | core_pb2.Node
    | core_pb2.Pod
    | core_pb2.Service
    | core_pb2.Endpoints
    | discovery_pb2.EndpointSlice
    | core_pb2.ConfigMap
    | core_pb2.Secret
    | core_pb2.Event
    | core_pb2.PersistentVolume
    | core_pb2.PersistentVolumeClaim
    | storage_pb2.StorageClass
    | policy_pb2.ResourceQuota
    | policy_pb2.ServiceAccount
    | policy_pb2.LimitRange
    | policy_pb2.PodDisruptionBudget
    | workloads_pb2.ReplicaSet
    | workloads_pb2.ReplicationController
    | workloads_pb2.Deployment
    | workloads_pb2.DaemonSet
    | workloads_pb2.StatefulSet
    | workloads_pb2.ControllerRevision
    | workloads_pb2.Job
    | workloads_pb2.CronJob
    | autoscaling_pb2.HorizontalPodAutoscaler
    | workloads_pb2.Lease
    | workloads_pb2.PriorityClass
    | networking_pb2.Ingress
    | networking_pb2.NetworkPolicy
    | admissionregistration_pb2.ValidatingAdmissionPolicy
    | admissionregistration_pb2.ValidatingAdmissionPolicyBinding
    | admissionregistration_pb2.ValidatingWebhookConfiguration
    | admissionregistration_pb2.MutatingWebhookConfiguration
    | networking_pb2.IngressClass
    | rbac_pb2.Role
    | rbac_pb2.ClusterRole
    | rbac_pb2.RoleBinding
    | rbac_pb2.ClusterRoleBinding
    | apiextensions_pb2.CustomResourceDefinition
    | apiextensions_pb2.CustomObject
    | certificates_pb2.CertificateSigningRequest
    | node_pb2.RuntimeClass
    | flowcontrol_pb2.FlowSchema
    | flowcontrol_pb2.PriorityLevelConfiguration
    | core_pb2.ComponentStatus
)
"""Any top-level API object: each has api_version, kind and metadata."""


@dataclass(frozen=True)
class Kind:
    """One kind of the API and how it is named."""

    kind: str
    """The kind as manifests spell it: "Deployment"."""
    api_version: str
    """"v1", "apps/v1", ..."""
    resource: str
    """The plural resource name used by the API: "deployments"."""
    message: type[Message]
    """The protobuf message class of the object."""
    namespaced: bool
    short_names: tuple[str, ...] = ()
    has_status: bool = True
    """Whether the object has a status that only UpdateStatus may change."""

    @property
    def group(self) -> str:
        """The API group: "" for core, "apps", "batch", ..."""
        return self.api_version.rpartition("/")[0]

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """kubectl's `resource.group` spelling, as in "deployment.apps/web"."""
        return f"{self.singular}.{self.group}" if self.group else self.singular

    def new(self) -> Object:
        """An empty object of this kind with apiVersion and kind filled in."""
        obj = self.message()
        obj.api_version = self.api_version  # type: ignore[attr-defined]
        obj.kind = self.kind  # type: ignore[attr-defined]
        return obj  # type: ignore[return-value]


RBAC = "rbac.authorization.k8s.io/v1"
NETWORKING = "networking.k8s.io/v1"
ADMISSION = "admissionregistration.k8s.io/v1"
FLOWCONTROL = "flowcontrol.apiserver.k8s.io/v1"

KINDS: tuple[Kind, ...] = (
    Kind("Namespace", "v1", "namespaces", core_pb2.Namespace, False, ("ns",)),
    Kind("Node", "v1", "nodes", core_pb2.Node, False, ("no",)),
    Kind("Pod", "v1", "pods", core_pb2.Pod, True, ("po",)),
    Kind("Service", "v1", "services", core_pb2.Service, True, ("svc",)),
    Kind("Endpoints", "v1", "endpoints", core_pb2.Endpoints, True, ("ep",), has_status=False),
    Kind("ConfigMap", "v1", "configmaps", core_pb2.ConfigMap, True, ("cm",), has_status=False),
    Kind("Secret", "v1", "secrets", core_pb2.Secret, True, (), has_status=False),
    Kind("Event", "v1", "events", core_pb2.Event, True, ("ev",), has_status=False),
    Kind("PersistentVolume", "v1", "persistentvolumes", core_pb2.PersistentVolume, False, ("pv",)),
    Kind(
        "PersistentVolumeClaim",
        "v1",
        "persistentvolumeclaims",
        core_pb2.PersistentVolumeClaim,
        True,
        ("pvc",),
    ),
    Kind(
        "StorageClass",
        "storage.k8s.io/v1",
        "storageclasses",
        storage_pb2.StorageClass,
        False,
        ("sc",),
        has_status=False,
    ),
    Kind(
        "ServiceAccount",
        "v1",
        "serviceaccounts",
        policy_pb2.ServiceAccount,
        True,
        ("sa",),
        has_status=False,
    ),
    Kind("ResourceQuota", "v1", "resourcequotas", policy_pb2.ResourceQuota, True, ("quota",)),
    Kind(
        "PodDisruptionBudget",
        "policy/v1",
        "poddisruptionbudgets",
        policy_pb2.PodDisruptionBudget,
        True,
        ("pdb",),
    ),
    Kind(
        "LimitRange",
        "v1",
        "limitranges",
        policy_pb2.LimitRange,
        True,
        ("limits",),
        has_status=False,
    ),
    Kind("ReplicaSet", "apps/v1", "replicasets", workloads_pb2.ReplicaSet, True, ("rs",)),
    Kind(
        "ReplicationController",
        "v1",
        "replicationcontrollers",
        workloads_pb2.ReplicationController,
        True,
        ("rc",),
    ),
    Kind("Deployment", "apps/v1", "deployments", workloads_pb2.Deployment, True, ("deploy",)),
    Kind("DaemonSet", "apps/v1", "daemonsets", workloads_pb2.DaemonSet, True, ("ds",)),
    Kind("StatefulSet", "apps/v1", "statefulsets", workloads_pb2.StatefulSet, True, ("sts",)),
    Kind(
        "ControllerRevision",
        "apps/v1",
        "controllerrevisions",
        workloads_pb2.ControllerRevision,
        True,
        (),
        has_status=False,
    ),
    Kind("Job", "batch/v1", "jobs", workloads_pb2.Job, True, ()),
    Kind("CronJob", "batch/v1", "cronjobs", workloads_pb2.CronJob, True, ("cj",)),
    Kind(
        "HorizontalPodAutoscaler",
        "autoscaling/v2",
        "horizontalpodautoscalers",
        autoscaling_pb2.HorizontalPodAutoscaler,
        True,
        ("hpa",),
    ),
    Kind(
        "Lease", "coordination.k8s.io/v1", "leases", workloads_pb2.Lease, True, (), has_status=False
    ),
    Kind(
        "PriorityClass",
        "scheduling.k8s.io/v1",
        "priorityclasses",
        workloads_pb2.PriorityClass,
        False,
        ("pc",),
        has_status=False,
    ),
    Kind(
        "RuntimeClass",
        "node.k8s.io/v1",
        "runtimeclasses",
        node_pb2.RuntimeClass,
        False,
        (),
        has_status=False,
    ),
    Kind(
        "EndpointSlice",
        "discovery.k8s.io/v1",
        "endpointslices",
        discovery_pb2.EndpointSlice,
        True,
        (),
        has_status=False,
    ),
    Kind("Ingress", NETWORKING, "ingresses", networking_pb2.Ingress, True, ("ing",)),
    Kind(
        "ValidatingAdmissionPolicy",
        ADMISSION,
        "validatingadmissionpolicies",
        admissionregistration_pb2.ValidatingAdmissionPolicy,
        False,
        (),
    ),
    Kind(
        "ValidatingAdmissionPolicyBinding",
        ADMISSION,
        "validatingadmissionpolicybindings",
        admissionregistration_pb2.ValidatingAdmissionPolicyBinding,
        False,
        (),
        has_status=False,
    ),
    Kind(
        "ValidatingWebhookConfiguration",
        ADMISSION,
        "validatingwebhookconfigurations",
        admissionregistration_pb2.ValidatingWebhookConfiguration,
        False,
        (),
        has_status=False,
    ),
    Kind(
        "MutatingWebhookConfiguration",
        ADMISSION,
        "mutatingwebhookconfigurations",
        admissionregistration_pb2.MutatingWebhookConfiguration,
        False,
        (),
        has_status=False,
    ),
    Kind(
        "NetworkPolicy",
        NETWORKING,
        "networkpolicies",
        networking_pb2.NetworkPolicy,
        True,
        ("netpol",),
        has_status=False,
    ),
    Kind(
        "IngressClass",
        NETWORKING,
        "ingressclasses",
        networking_pb2.IngressClass,
        False,
        (),
        has_status=False,
    ),
    Kind("Role", RBAC, "roles", rbac_pb2.Role, True, (), has_status=False),
    Kind("ClusterRole", RBAC, "clusterroles", rbac_pb2.ClusterRole, False, (), has_status=False),
    Kind("RoleBinding", RBAC, "rolebindings", rbac_pb2.RoleBinding, True, (), has_status=False),
    Kind(
        "ClusterRoleBinding",
        RBAC,
        "clusterrolebindings",
        rbac_pb2.ClusterRoleBinding,
        False,
        (),
        has_status=False,
    ),
    Kind(
        "CustomResourceDefinition",
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        apiextensions_pb2.CustomResourceDefinition,
        False,
        ("crd", "crds"),
    ),
    Kind(
        "CertificateSigningRequest",
        "certificates.k8s.io/v1",
        "certificatesigningrequests",
        certificates_pb2.CertificateSigningRequest,
        False,
        ("csr",),
    ),
    # API Priority and Fairness' configuration; Kubernetes gives them no short names.
    Kind(
        "FlowSchema",
        FLOWCONTROL,
        "flowschemas",
        flowcontrol_pb2.FlowSchema,
        False,
    ),
    Kind(
        "PriorityLevelConfiguration",
        FLOWCONTROL,
        "prioritylevelconfigurations",
        flowcontrol_pb2.PriorityLevelConfiguration,
        False,
    ),
)

COMPONENT_STATUSES = Kind(
    "ComponentStatus",
    "v1",
    "componentstatuses",
    core_pb2.ComponentStatus,
    False,
    ("cs",),
    has_status=False,
)
"""The control plane's health, deprecated by Kubernetes in 1.19 and still served."""
COMPUTED: tuple[Kind, ...] = (COMPONENT_STATUSES,)
"""Kinds the API server builds on each get or list and never stores (ComponentStatuses,
from probes: master/apiserver/componentstatus.py). They are named and resolved like any
kind, but kept out of KINDS, which every layer walks as the stored kinds (strategies,
the garbage collector's and the state metrics' informers, the namespace cleanup)."""

_BY_RESOURCE = {k.resource: k for k in (*KINDS, *COMPUTED)}
_BY_KIND = {k.kind: k for k in (*KINDS, *COMPUTED)}
_BY_MESSAGE = {k.message: k for k in (*KINDS, *COMPUTED)}
_ALIASES: dict[str, Kind] = {}
for _k in (*KINDS, *COMPUTED):
    for _alias in (_k.resource, _k.singular, _k.kind, *_k.short_names, _k.qualified):
        _ALIASES[_alias.lower()] = _k
    if _k.group:
        _ALIASES[f"{_k.resource}.{_k.group}"] = _k


class UnknownKindError(LookupError):
    """A kind, resource or alias that the API does not serve."""


# Kinds served at run time (CustomResourceDefinitions, client/customkinds.py): consulted
# after the static ones, which they may never shadow.
_DYNAMIC: dict[str, Kind] = {}
_DYNAMIC_ALIASES: dict[str, Kind] = {}


def register_dynamic(kind: Kind, aliases: tuple[str, ...] = ()) -> None:
    """Serve (or re-describe) a kind known only at run time, under its resource and
    `aliases`; names a static kind holds stay the static kind's."""
    unregister_dynamic(kind.resource)
    _DYNAMIC[kind.resource] = kind
    for alias in (kind.resource, kind.singular, kind.kind, *aliases):
        _DYNAMIC_ALIASES.setdefault(alias.lower(), kind)
    _DYNAMIC_ALIASES.setdefault(f"{kind.resource}.{kind.group}", kind)
    _DYNAMIC_ALIASES.setdefault(kind.qualified, kind)


def unregister_dynamic(resource: str) -> None:
    """Stop serving a run-time kind (its CustomResourceDefinition is gone)."""
    gone = _DYNAMIC.pop(resource, None)
    if gone is not None:
        for alias in [a for a, k in _DYNAMIC_ALIASES.items() if k is gone]:
            del _DYNAMIC_ALIASES[alias]


def dynamic_kinds() -> list[Kind]:
    """The run-time kinds now served."""
    return list(_DYNAMIC.values())


def by_resource(resource: str) -> Kind:
    """The kind served under a plural resource name ("pods")."""
    found = _BY_RESOURCE.get(resource) or _DYNAMIC.get(resource)
    if found is None:
        raise UnknownKindError(f'the server doesn\'t have a resource type "{resource}"')
    return found


def by_kind(api_version: str, kind: str) -> Kind:
    """The kind named by a manifest's apiVersion and kind; both must match."""
    found = _BY_KIND.get(kind)
    if found is None or found.api_version != api_version:
        dynamic = next(
            (k for k in _DYNAMIC.values() if k.kind == kind and k.api_version == api_version),
            None,
        )
        found = dynamic or found
    if found is None:
        raise UnknownKindError(f'no matches for kind "{kind}" in version "{api_version}"')
    if found.api_version != api_version:
        raise UnknownKindError(
            f'no matches for kind "{kind}" in version "{api_version}" '
            f'(Tugboat serves {kind} as "{found.api_version}")'
        )
    return found


def of(obj: Message) -> Kind:
    """The kind of a message instance."""
    found = _BY_MESSAGE.get(type(obj))
    if found is None and isinstance(obj, apiextensions_pb2.CustomObject):
        group = obj.api_version.rpartition("/")[0]
        found = next(
            (k for k in _DYNAMIC.values() if k.kind == obj.kind and k.group == group), None
        )
    if found is None:
        raise UnknownKindError(f"{type(obj).__name__} is not an API object")
    return found


def resolve(name: str) -> Kind:
    """A kind from any name kubectl accepts: plural, singular, short name, Kind, kind.group."""
    found = _ALIASES.get(name.lower()) or _DYNAMIC_ALIASES.get(name.lower())
    if found is None:
        raise UnknownKindError(f'the server doesn\'t have a resource type "{name}"')
    return found


def decode(resource: str, data: bytes) -> Object:
    """Parse the serialized message of a resource's kind."""
    obj = by_resource(resource).message()
    obj.ParseFromString(data)
    return obj  # type: ignore[return-value]


def key(obj: Object) -> str:
    """The work-queue key of an object: "namespace/name", or "name" when cluster-scoped."""
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name
