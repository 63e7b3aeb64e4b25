"""Deployments, ReplicaSets, DaemonSets and Jobs: desired against actual replicas."""

from __future__ import annotations

from master.statemetrics.families import Families, Labels, owner_labels
from proto import workloads_pb2


def _meta(out: Families, kind: str, labels: Labels, generation: int, created: str) -> None:
    out.created(kind, kind, labels, created)
    out.gauge(
        f"kube_{kind}_metadata_generation",
        f"The {kind}'s generation (each spec change adds one).",
        labels,
        generation,
    )


def deployment_metrics(d: workloads_pb2.Deployment, out: Families) -> None:
    """Every kube_deployment_* series of one Deployment."""
    m, spec, st = d.metadata, d.spec, d.status
    labels = {"namespace": m.namespace, "deployment": m.name}
    _meta(out, "deployment", labels, m.generation, m.creation_timestamp)
    out.gauge("kube_deployment_spec_replicas", "Pods the Deployment asks for.", labels,
              spec.replicas if spec.HasField("replicas") else 1)
    out.gauge("kube_deployment_spec_paused", "Whether the Deployment's rollout is paused.",
              labels, 1 if spec.paused else 0)
    for field, text in (
        ("replicas", "Pods of the Deployment."),
        ("replicas_available", "Pods of the Deployment available (ready for minReadySeconds)."),
        ("replicas_unavailable", "Pods of the Deployment not available."),
        ("replicas_updated", "Pods of the Deployment at the current template."),
        ("replicas_ready", "Pods of the Deployment ready."),
    ):
        attr = {"replicas_available": "available_replicas",
                "replicas_unavailable": "unavailable_replicas",
                "replicas_updated": "updated_replicas",
                "replicas_ready": "ready_replicas"}.get(field, field)
        out.gauge(f"kube_deployment_status_{field}", text, labels, getattr(st, attr))
    out.gauge("kube_deployment_status_observed_generation",
              "The generation the Deployment controller last acted on.", labels,
              st.observed_generation)
    out.conditions("kube_deployment_status_condition",
                   "The Deployment's conditions (Available, Progressing).", labels, st.conditions)


def _replica_metrics(
    obj: workloads_pb2.ReplicaSet | workloads_pb2.ReplicationController,
    kind: str,
    what: str,
    out: Families,
) -> Labels:
    """The series ReplicaSets and ReplicationControllers share (kube-state-metrics names
    them alike, by the kind's lower-case name)."""
    m, spec, st = obj.metadata, obj.spec, obj.status
    labels = {"namespace": m.namespace, kind: m.name}
    _meta(out, kind, labels, m.generation, m.creation_timestamp)
    for owner in owner_labels(m.owner_references):
        out.gauge(f"kube_{kind}_owner", f"The {what}'s owners.", {**labels, **owner}, 1)
    out.gauge(f"kube_{kind}_spec_replicas", f"Pods the {what} asks for.", labels,
              spec.replicas if spec.HasField("replicas") else 1)
    out.gauge(f"kube_{kind}_status_replicas", f"Pods of the {what}.", labels, st.replicas)
    out.gauge(f"kube_{kind}_status_ready_replicas", f"Pods of the {what} ready.", labels,
              st.ready_replicas)
    out.gauge(f"kube_{kind}_status_fully_labeled_replicas",
              f"Pods whose labels match the {what}'s template.", labels,
              st.fully_labeled_replicas)
    out.gauge(f"kube_{kind}_status_observed_generation",
              f"The generation the {what} controller last acted on.", labels,
              st.observed_generation)
    return labels


def replicaset_metrics(rs: workloads_pb2.ReplicaSet, out: Families) -> None:
    """Every kube_replicaset_* series of one ReplicaSet."""
    _replica_metrics(rs, "replicaset", "ReplicaSet", out)


def replicationcontroller_metrics(
    rc: workloads_pb2.ReplicationController, out: Families
) -> None:
    """Every kube_replicationcontroller_* series of one ReplicationController: a
    ReplicaSet's, and the available replicas."""
    labels = _replica_metrics(rc, "replicationcontroller", "ReplicationController", out)
    out.gauge("kube_replicationcontroller_status_available_replicas",
              "Pods of the ReplicationController available (ready for minReadySeconds).",
              labels, rc.status.available_replicas)


def daemonset_metrics(ds: workloads_pb2.DaemonSet, out: Families) -> None:
    """Every kube_daemonset_* series of one DaemonSet."""
    m, st = ds.metadata, ds.status
    labels = {"namespace": m.namespace, "daemonset": m.name}
    _meta(out, "daemonset", labels, m.generation, m.creation_timestamp)
    for name, value, text in (
        ("status_current_number_scheduled", st.current_number_scheduled,
         "Nodes running a pod of the DaemonSet that should."),
        ("status_desired_number_scheduled", st.desired_number_scheduled,
         "Nodes that should run a pod of the DaemonSet."),
        ("status_number_available", st.number_available,
         "Nodes whose pod of the DaemonSet is available."),
        ("status_number_misscheduled", st.number_misscheduled,
         "Nodes running a pod of the DaemonSet that should not."),
        ("status_number_ready", st.number_ready, "Nodes whose pod of the DaemonSet is ready."),
        ("status_number_unavailable", st.number_unavailable,
         "Nodes that should run an available pod of the DaemonSet and do not."),
        ("status_updated_number_scheduled", st.updated_number_scheduled,
         "Nodes running the DaemonSet's current template."),
        ("status_observed_generation", st.observed_generation,
         "The generation the DaemonSet controller last acted on."),
    ):
        out.gauge(f"kube_daemonset_{name}", text, labels, value)


def job_metrics(job: workloads_pb2.Job, out: Families) -> None:
    """Every kube_job_* series of one Job."""
    m, spec, st = job.metadata, job.spec, job.status
    labels = {"namespace": m.namespace, "job_name": m.name}
    out.gauge("kube_job_info", "Information about a Job.", labels, 1)
    for owner in owner_labels(m.owner_references):
        out.gauge("kube_job_owner", "The Job's owners.", {**labels, **owner}, 1)
    out.timestamp("kube_job_created", "Unix creation time of the Job.", labels,
                  m.creation_timestamp)
    out.gauge("kube_job_spec_parallelism", "Pods of the Job that may run at once.", labels,
              spec.parallelism if spec.HasField("parallelism") else 1)
    if spec.HasField("completions"):
        out.gauge("kube_job_spec_completions", "Successful pods the Job needs.", labels,
                  spec.completions)
    if spec.HasField("active_deadline_seconds"):
        out.gauge("kube_job_spec_active_deadline_seconds",
                  "Seconds the Job may be active before it is failed.", labels,
                  spec.active_deadline_seconds)
    out.gauge("kube_job_status_active", "Pods of the Job running.", labels, st.active)
    out.gauge("kube_job_status_succeeded", "Pods of the Job that succeeded.", labels,
              st.succeeded)
    out.gauge("kube_job_status_failed", "Pods of the Job that failed.", labels, st.failed)
    out.timestamp("kube_job_status_start_time", "Unix time the Job started.", labels,
                  st.start_time)
    out.timestamp("kube_job_status_completion_time", "Unix time the Job completed.", labels,
                  st.completion_time)
    for c in st.conditions:
        if c.type == "Complete":
            out.condition("kube_job_complete", "Whether the Job completed.", labels, c.status)
        elif c.type == "Failed":
            out.condition("kube_job_failed", "Whether the Job failed.", labels, c.status)
