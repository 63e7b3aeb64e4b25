"""StatefulSets: the workload checks, the policies, the claim templates, and what may change.

A StatefulSet's identity rests on fields that must never move under running pods: the
selector, the governing service, the claim templates and the pod management policy. As
in Kubernetes, an update may change only the fields named in UPDATABLE; anything else is
one Forbidden error on `spec`, worded as Kubernetes words it.
"""

from __future__ import annotations

from client.names import is_dns1123_label
from master.apiserver.validation import workloads
from master.apiserver.validation.errors import Errors, child, index
from proto import core_pb2, workloads_pb2

__all__ = ["UPDATABLE", "validate_stateful_set", "validate_stateful_set_update"]

UPDATABLE = (
    "replicas",
    "ordinals",
    "template",
    "update_strategy",
    "revision_history_limit",
    "persistent_volume_claim_retention_policy",
    "min_ready_seconds",
)
_UPDATABLE_NAMES = (
    "'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds'"
)


def validate_stateful_set(errs: Errors, sts: workloads_pb2.StatefulSet) -> None:
    """Counts, policies, update strategy, claim templates, selector and template."""
    spec = sts.spec
    if spec.HasField("replicas"):
        errs.non_negative("spec.replicas", spec.replicas)
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    errs.non_negative("spec.ordinals.start", spec.ordinals.start)
    if spec.HasField("revision_history_limit"):
        errs.non_negative("spec.revisionHistoryLimit", spec.revision_history_limit)
    if spec.pod_management_policy not in ("OrderedReady", "Parallel"):
        errs.invalid(
            "spec.podManagementPolicy",
            spec.pod_management_policy,
            "must be 'OrderedReady' or 'Parallel'",
        )
    _update_strategy(errs, spec.update_strategy)
    retention = spec.persistent_volume_claim_retention_policy
    for field, value in (
        ("whenDeleted", retention.when_deleted),
        ("whenScaled", retention.when_scaled),
    ):
        errs.enum(
            f"spec.persistentVolumeClaimRetentionPolicy.{field}",
            value,
            ("Retain", "Delete"),
            required=True,
        )
    for i, claim in enumerate(spec.volume_claim_templates):
        _claim_template(errs, index("spec.volumeClaimTemplates", i), claim)
    workloads._workload_template(errs, _with_claims(spec), owner="statefulset")


def _with_claims(spec: workloads_pb2.StatefulSetSpec) -> workloads_pb2.StatefulSetSpec:
    """The spec whose template has a volume for each claim template, as each pod will:
    a mount of `www` is valid when `www` is a claim template."""
    joined = workloads_pb2.StatefulSetSpec()
    joined.CopyFrom(spec)
    volumes = {v.name for v in spec.template.spec.volumes}
    for claim in spec.volume_claim_templates:
        if claim.metadata.name and claim.metadata.name not in volumes:
            joined.template.spec.volumes.add(
                name=claim.metadata.name,
                persistent_volume_claim=core_pb2.PersistentVolumeClaimVolumeSource(
                    claim_name=claim.metadata.name
                ),
            )
    return joined


def _update_strategy(errs: Errors, strategy: workloads_pb2.StatefulSetUpdateStrategy) -> None:
    path = "spec.updateStrategy"
    if strategy.type not in ("RollingUpdate", "OnDelete"):
        errs.invalid(path, strategy.type, "must be 'RollingUpdate' or 'OnDelete'")
    elif strategy.type == "OnDelete" and strategy.HasField("rolling_update"):
        errs.invalid(
            child(path, "rollingUpdate"), "...", "only allowed for updateStrategy 'RollingUpdate'"
        )
    elif strategy.rolling_update.HasField("partition"):
        errs.non_negative(child(path, "rollingUpdate.partition"), strategy.rolling_update.partition)


def _claim_template(errs: Errors, path: str, claim: core_pb2.PersistentVolumeClaim) -> None:
    """The parts of a claim every pod's claim will need: a name, access modes, a size."""
    name_path = child(path, "metadata.name")
    errs.syntax(name_path, claim.metadata.name, is_dns1123_label)
    if not claim.spec.access_modes:
        errs.required(child(path, "spec.accessModes"), "at least 1 access mode is required")
    if "storage" not in claim.spec.resources.requests:
        errs.required(child(path, "spec.resources[storage]"))


def validate_stateful_set_update(
    errs: Errors, new: workloads_pb2.StatefulSet, old: workloads_pb2.StatefulSet
) -> None:
    """The selector never changes, and of the rest of spec only UPDATABLE may."""
    workloads.validate_workload_update(errs, new, old)
    if errs:
        return
    if _frozen(new.spec) != _frozen(old.spec):
        errs.forbidden(
            "spec",
            f"updates to statefulset spec for fields other than {_UPDATABLE_NAMES} are forbidden",
        )


def _frozen(spec: workloads_pb2.StatefulSetSpec) -> bytes:
    rest = workloads_pb2.StatefulSetSpec()
    rest.CopyFrom(spec)
    for field in UPDATABLE:
        rest.ClearField(field)
    return rest.SerializeToString(deterministic=True)
