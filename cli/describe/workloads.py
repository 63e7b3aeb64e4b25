"""Describing deployments, replicasets, daemonsets and jobs."""

from __future__ import annotations

from cli.describe.pods import write_template
from cli.describe.writer import Writer, timestamp
from client.api import ApiClient
from client.printing.columns import selector_text
from client.selectors import format_labels
from proto import core_pb2, meta_pb2, workloads_pb2


def _int_or_string(v: meta_pb2.IntOrString, default: str) -> str:
    which = v.WhichOneof("value")
    return str(getattr(v, which)) if which else default


def _header(w: Writer, obj: workloads_pb2.Deployment | workloads_pb2.ReplicaSet) -> None:
    w.field(0, "Name", obj.metadata.name)
    w.field(0, "Namespace", obj.metadata.namespace)
    w.field(0, "CreationTimestamp", timestamp(obj.metadata.creation_timestamp))


def _conditions(w: Writer, conditions: list[meta_pb2.Condition]) -> None:
    if not conditions:
        return
    w.title(0, "Conditions:")
    w.table(1, ["Type", "Status", "Reason"], [[c.type, c.status, c.reason] for c in conditions])


def describe_deployment(w: Writer, d: workloads_pb2.Deployment) -> None:
    """The page of a deployment, before its events."""
    spec, st = d.spec, d.status
    _header(w, d)
    w.mapping(0, "Labels", dict(d.metadata.labels))
    w.mapping(0, "Annotations", dict(d.metadata.annotations), ": ")
    w.field(0, "Selector", selector_text(spec.selector))
    desired = spec.replicas if spec.HasField("replicas") else 1
    w.field(
        0,
        "Replicas",
        f"{desired} desired | {st.updated_replicas} updated | {st.replicas} total | "
        f"{st.available_replicas} available | {st.unavailable_replicas} unavailable",
    )
    strategy = spec.strategy.type or "RollingUpdate"
    w.field(0, "StrategyType", strategy)
    w.field(0, "MinReadySeconds", spec.min_ready_seconds)
    if strategy == "RollingUpdate":
        ru = spec.strategy.rolling_update
        w.field(
            0,
            "RollingUpdateStrategy",
            f"{_int_or_string(ru.max_unavailable, '25%')} max unavailable, "
            f"{_int_or_string(ru.max_surge, '25%')} max surge",
        )
    write_template(w, 0, spec.template)
    _conditions(w, list(st.conditions))


async def describe_replicaset(w: Writer, rs: workloads_pb2.ReplicaSet, api: ApiClient) -> None:
    """The page of a replicaset, with its pods' phases."""
    _header(w, rs)
    w.field(0, "Selector", selector_text(rs.spec.selector))
    w.mapping(0, "Labels", dict(rs.metadata.labels))
    w.mapping(0, "Annotations", dict(rs.metadata.annotations), ": ")
    for ref in rs.metadata.owner_references:
        if ref.controller:
            w.field(0, "Controlled By", f"{ref.kind}/{ref.name}")
    desired = rs.spec.replicas if rs.spec.HasField("replicas") else 1
    w.field(0, "Replicas", f"{rs.status.replicas} current / {desired} desired")
    phases = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    selector = selector_text(rs.spec.selector)
    if selector != "<none>":
        pods = await api.list("pods", rs.metadata.namespace, label_selector=selector)
        for pod in pods.items:
            assert isinstance(pod, core_pb2.Pod)
            owned = any(r.uid == rs.metadata.uid for r in pod.metadata.owner_references)
            if owned and pod.status.phase in phases:
                phases[pod.status.phase] += 1
    w.field(
        0,
        "Pods Status",
        f"{phases['Running']} Running / {phases['Pending']} Waiting / "
        f"{phases['Succeeded']} Succeeded / {phases['Failed']} Failed",
    )
    write_template(w, 0, rs.spec.template)
    _conditions(w, list(rs.status.conditions))


def describe_daemonset(w: Writer, ds: workloads_pb2.DaemonSet) -> None:
    """The page of a daemonset, before its events."""
    st = ds.status
    w.field(0, "Name", ds.metadata.name)
    w.field(0, "Selector", selector_text(ds.spec.selector))
    w.field(0, "Node-Selector", format_labels(ds.spec.template.spec.node_selector))
    w.mapping(0, "Labels", dict(ds.metadata.labels))
    w.mapping(0, "Annotations", dict(ds.metadata.annotations), ": ")
    w.field(0, "Desired Number of Nodes Scheduled", st.desired_number_scheduled)
    w.field(0, "Current Number of Nodes Scheduled", st.current_number_scheduled)
    w.field(0, "Number of Nodes Scheduled with Up-to-date Pods", st.updated_number_scheduled)
    w.field(0, "Number of Nodes Scheduled with Available Pods", st.number_available)
    w.field(0, "Number of Nodes Misscheduled", st.number_misscheduled)
    write_template(w, 0, ds.spec.template)


def describe_job(w: Writer, job: workloads_pb2.Job) -> None:
    """The page of a job, before its events."""
    spec, st = job.spec, job.status
    w.field(0, "Name", job.metadata.name)
    w.field(0, "Namespace", job.metadata.namespace)
    w.field(0, "Selector", selector_text(spec.selector))
    w.mapping(0, "Labels", dict(job.metadata.labels))
    w.mapping(0, "Annotations", dict(job.metadata.annotations), ": ")
    w.field(0, "Parallelism", spec.parallelism if spec.HasField("parallelism") else 1)
    w.field(0, "Completions", spec.completions if spec.HasField("completions") else "<unset>")
    w.field(0, "Backoff Limit", spec.backoff_limit if spec.HasField("backoff_limit") else 6)
    if st.start_time:
        w.field(0, "Start Time", timestamp(st.start_time))
    if st.completion_time:
        w.field(0, "Completed At", timestamp(st.completion_time))
    w.field(
        0, "Pods Statuses", f"{st.active} Active / {st.succeeded} Succeeded / {st.failed} Failed"
    )
    write_template(w, 0, spec.template)
