"""StatefulSets: kube-state-metrics' kube_statefulset_* families, revisions included.

Dashboards for StatefulSets (kube-prometheus' "StatefulSets" panel, the
KubeStatefulSetReplicasMismatch and KubeStatefulSetUpdateNotRolledOut alerts) compare
these series by name, so the names and labels are kube-state-metrics' own.
"""

from __future__ import annotations

from master.statemetrics.families import Families
from proto import workloads_pb2


def stateful_set_metrics(sts: workloads_pb2.StatefulSet, out: Families) -> None:
    """Every kube_statefulset_* series of one StatefulSet."""
    m, spec, st = sts.metadata, sts.spec, sts.status
    labels = {"namespace": m.namespace, "statefulset": m.name}
    out.created("statefulset", "StatefulSet", labels, m.creation_timestamp)
    out.gauge(
        "kube_statefulset_metadata_generation",
        "The StatefulSet's generation.",
        labels,
        m.generation,
    )
    out.gauge(
        "kube_statefulset_replicas",
        "Pods the StatefulSet asks for.",
        labels,
        spec.replicas if spec.HasField("replicas") else 1,
    )
    out.gauge(
        "kube_statefulset_status_observed_generation",
        "The generation the StatefulSet controller last acted on.",
        labels,
        st.observed_generation,
    )
    for field, text, value in (
        ("replicas", "Pods of the StatefulSet.", st.replicas),
        ("replicas_ready", "Pods of the StatefulSet that are ready.", st.ready_replicas),
        ("replicas_available", "Pods available for minReadySeconds.", st.available_replicas),
        ("replicas_current", "Pods at the current revision.", st.current_replicas),
        ("replicas_updated", "Pods at the update revision.", st.updated_replicas),
    ):
        out.gauge(f"kube_statefulset_status_{field}", text, labels, value)
    out.gauge(
        "kube_statefulset_status_current_revision",
        "The StatefulSet's current revision.",
        {**labels, "revision": st.current_revision},
        1,
    )
    out.gauge(
        "kube_statefulset_status_update_revision",
        "The StatefulSet's update revision.",
        {**labels, "revision": st.update_revision},
        1,
    )
