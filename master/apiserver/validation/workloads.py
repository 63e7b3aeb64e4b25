"""Validation of ReplicaSet, Deployment, DaemonSet, StatefulSet and Job (apps/v1, batch/v1)."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message

from master.apiserver.defaults import JOB_UID_LABELS
from master.apiserver.validation import jobpolicy
from master.apiserver.validation.errors import Errors, child, show
from master.apiserver.validation.fields import int_or_percent
from master.apiserver.validation.meta import validate_label_selector, validate_labels
from master.apiserver.validation.pod import validate_pod_spec
from proto import meta_pb2, workloads_pb2

SELECTOR_MISMATCH = "`selector` does not match template `labels`"
REPLACEMENT_POLICIES = ("TerminatingOrFailed", "Failed")

PodOwnerSpec = (
    workloads_pb2.ReplicaSetSpec
    | workloads_pb2.DeploymentSpec
    | workloads_pb2.DaemonSetSpec
    | workloads_pb2.StatefulSetSpec
    | workloads_pb2.JobSpec
)
"""The specs of the kinds whose pods come from a template their selector must select."""


def _selector_and_template(
    errs: Errors,
    spec: PodOwnerSpec,
    *,
    owner: str,
    restart_policies: Sequence[str],
) -> None:
    """The selector is given, not empty, valid, and selects the template's own labels."""
    selector, template = spec.selector, spec.template
    parsed = None
    if not spec.HasField("selector"):
        errs.required("spec.selector")
    elif not selector.match_labels and not selector.match_expressions:
        errs.invalid("spec.selector", {}, f"empty selector is invalid for {owner}")
    else:
        parsed = validate_label_selector(errs, selector, "spec.selector")
    if not spec.HasField("template"):
        errs.required("spec.template")
        return
    labels = template.metadata.labels
    validate_labels(errs, labels, "spec.template.metadata.labels")
    if parsed is not None and not parsed.matches(labels):
        errs.invalid("spec.template.metadata.labels", dict(labels), SELECTOR_MISMATCH)
    validate_pod_spec(errs, template.spec, "spec.template.spec", restart_policies=restart_policies)


def _max_surge_unavailable(
    errs: Errors, path: str, surge: meta_pb2.IntOrString, unavailable: meta_pb2.IntOrString
) -> None:
    s = int_or_percent(errs, child(path, "maxSurge"), surge)
    u = int_or_percent(errs, child(path, "maxUnavailable"), unavailable)
    if u is not None and unavailable.WhichOneof("value") == "str_val" and u > 100:
        errs.invalid(
            child(path, "maxUnavailable"), unavailable.str_val, "must not be greater than 100%"
        )
    if s == 0 and u == 0:
        errs.invalid(
            child(path, "maxUnavailable"),
            unavailable.str_val or unavailable.int_val,
            "may not be 0 when `maxSurge` is 0",
        )


def _rollout_history(
    errs: Errors, spec: workloads_pb2.DeploymentSpec | workloads_pb2.DaemonSetSpec
) -> None:
    """What Deployments and DaemonSets, which both roll out revisions, share:
    minReadySeconds and the number of old revisions kept."""
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    if spec.HasField("revision_history_limit"):
        errs.non_negative("spec.revisionHistoryLimit", spec.revision_history_limit)


def _update_strategy(
    errs: Errors,
    path: str,
    strategy: workloads_pb2.DeploymentStrategy | workloads_pb2.DaemonSetUpdateStrategy,
    types: Sequence[str],
) -> None:
    """The strategy's type, and a rolling update's maxSurge and maxUnavailable (the same
    rule for Deployments and DaemonSets)."""
    errs.enum(child(path, "type"), strategy.type, types, required=True)
    if strategy.type == "RollingUpdate":
        ru = strategy.rolling_update
        _max_surge_unavailable(errs, child(path, "rollingUpdate"), ru.max_surge, ru.max_unavailable)


def validate_replica_set(errs: Errors, rs: workloads_pb2.ReplicaSet) -> None:
    """replicas, minReadySeconds, the selector and the template (restartPolicy Always)."""
    spec = rs.spec
    if spec.HasField("replicas"):
        errs.non_negative("spec.replicas", spec.replicas)
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    _workload_template(errs, spec, owner="replicaset")


def validate_replication_controller(errs: Errors, rc: workloads_pb2.ReplicationController) -> None:
    """As a ReplicaSet's, with core/v1's equality-only selector, which must not be empty."""
    spec = rc.spec
    if spec.HasField("replicas"):
        errs.non_negative("spec.replicas", spec.replicas)
    errs.non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    selector = dict(spec.selector)
    if not selector:
        errs.required("spec.selector")
    validate_labels(errs, selector, "spec.selector")
    if not spec.HasField("template"):
        errs.required("spec.template")
        return
    labels = spec.template.metadata.labels
    validate_labels(errs, labels, "spec.template.metadata.labels")
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        errs.invalid("spec.template.metadata.labels", dict(labels), SELECTOR_MISMATCH)
    template = spec.template.spec
    validate_pod_spec(errs, template, "spec.template.spec", restart_policies=("Always",))
    if template.HasField("active_deadline_seconds"):
        errs.forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicationController is not Supported",
        )


def _workload_template(
    errs: Errors,
    spec: workloads_pb2.ReplicaSetSpec
    | workloads_pb2.DeploymentSpec
    | workloads_pb2.DaemonSetSpec
    | workloads_pb2.StatefulSetSpec,
    *,
    owner: str,
) -> None:
    _selector_and_template(errs, spec, owner=owner, restart_policies=("Always",))
    if spec.template.spec.HasField("active_deadline_seconds"):
        errs.forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            f"activeDeadlineSeconds in {owner} is not Supported",
        )


def validate_deployment(errs: Errors, d: workloads_pb2.Deployment) -> None:
    """As a ReplicaSet, plus the strategy, history limit and progress deadline."""
    spec = d.spec
    if spec.HasField("replicas"):
        errs.non_negative("spec.replicas", spec.replicas)
    _rollout_history(errs, spec)
    if spec.HasField("progress_deadline_seconds"):
        pds = spec.progress_deadline_seconds
        errs.non_negative("spec.progressDeadlineSeconds", pds)
        if pds >= 0 and pds <= spec.min_ready_seconds:
            errs.invalid(
                "spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"
            )
    strategy = spec.strategy
    _update_strategy(errs, "spec.strategy", strategy, ("Recreate", "RollingUpdate"))
    if strategy.type == "Recreate" and strategy.HasField("rolling_update"):
        errs.forbidden(
            "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
        )
    _workload_template(errs, spec, owner="deployment")


def validate_daemon_set(errs: Errors, ds: workloads_pb2.DaemonSet) -> None:
    """Selector, template (restartPolicy Always) and update strategy."""
    spec = ds.spec
    _rollout_history(errs, spec)
    _update_strategy(
        errs, "spec.updateStrategy", spec.update_strategy, ("OnDelete", "RollingUpdate")
    )
    _workload_template(errs, spec, owner="daemonset")


def validate_job(errs: Errors, job: workloads_pb2.Job) -> None:
    """Counts, deadlines, completion mode, the (generated) selector and the template."""
    spec = job.spec
    for field, json_name in (
        ("parallelism", "parallelism"),
        ("completions", "completions"),
        ("backoff_limit", "backoffLimit"),
        ("active_deadline_seconds", "activeDeadlineSeconds"),
        ("ttl_seconds_after_finished", "ttlSecondsAfterFinished"),
    ):
        if spec.HasField(field):
            errs.non_negative(f"spec.{json_name}", getattr(spec, field))
    errs.enum(
        "spec.completionMode", spec.completion_mode, ("NonIndexed", "Indexed"), required=False
    )
    if spec.completion_mode == "Indexed" and not spec.HasField("completions"):
        errs.required("spec.completions", "when completion mode is Indexed")
    if spec.HasField("pod_replacement_policy"):
        allowed = ("Failed",) if spec.pod_failure_policy.rules else REPLACEMENT_POLICIES
        errs.enum("spec.podReplacementPolicy", spec.pod_replacement_policy, allowed, required=True)
    jobpolicy.validate(errs, spec)
    if not spec.manual_selector and spec.HasField("selector"):
        uid = job.metadata.uid
        if uid and spec.selector.match_labels.get(JOB_UID_LABELS[0]) != uid:
            errs.invalid(
                "spec.selector",
                dict(spec.selector.match_labels),
                "`selector` not auto-generated",
            )
    _selector_and_template(errs, spec, owner="job", restart_policies=("OnFailure", "Never"))


Workload = (
    workloads_pb2.ReplicaSet
    | workloads_pb2.Deployment
    | workloads_pb2.DaemonSet
    | workloads_pb2.StatefulSet
    | workloads_pb2.Job
)


def validate_workload_update(errs: Errors, new: Workload, old: Workload) -> None:
    """apps/v1 selectors never change; a Job's selector, template and completions neither."""
    new_spec, old_spec = new.spec, old.spec
    if _bytes(new_spec.selector) != _bytes(old_spec.selector):
        errs.immutable("spec.selector", _selector_text(new_spec.selector))
    if isinstance(new, workloads_pb2.Job) and isinstance(old, workloads_pb2.Job):
        if _bytes(new.spec.template) != _bytes(old.spec.template):
            errs.immutable("spec.template", "...")
        if new.spec.completions != old.spec.completions:
            errs.immutable("spec.completions", new.spec.completions)
        if new.spec.completion_mode != old.spec.completion_mode:
            errs.immutable("spec.completionMode", new.spec.completion_mode)
        for field, json_name in (
            ("pod_failure_policy", "podFailurePolicy"),
            ("backoff_limit_per_index", "backoffLimitPerIndex"),
            ("success_policy", "successPolicy"),
        ):
            if new.spec.HasField(field) != old.spec.HasField(field) or getattr(
                new.spec, field
            ) != getattr(old.spec, field):
                errs.add(f"spec.{json_name}", "Invalid value: field is immutable")


def _bytes(msg: Message) -> bytes:
    return msg.SerializeToString(deterministic=True)


def _selector_text(selector: meta_pb2.LabelSelector) -> object:
    out: dict[str, object] = {}
    if selector.match_labels:
        out["matchLabels"] = dict(selector.match_labels)
    if selector.match_expressions:
        out["matchExpressions"] = [
            {"key": e.key, "operator": e.operator, "values": list(e.values)}
            for e in selector.match_expressions
        ]
    return show(out) if out else "{}"
