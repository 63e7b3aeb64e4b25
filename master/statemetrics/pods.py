"""Pods: phase, readiness, scheduling, runtime class, containers' states, restarts and resources.

kube-state-metrics (internal/store/pod.go) writes an optional part of a pod's spec only
when it is set, so a series' absence means "unset" and a sum over pods counts only what
is there: the overhead families and the runtime class' info have no sample for a pod
without them, never a zero or an empty label.
"""

from __future__ import annotations

from collections.abc import Callable

from client.quantity import cpu_millis, memory_bytes
from master.statemetrics.families import Families, Labels, owner_labels, resources
from proto import core_pb2

PHASES = ("Pending", "Succeeded", "Failed", "Unknown", "Running")


def pod_metrics(pod: core_pb2.Pod, out: Families) -> None:
    """Every kube_pod_* series of one pod."""
    m, spec, st = pod.metadata, pod.spec, pod.status
    labels: Labels = {"namespace": m.namespace, "pod": m.name, "uid": m.uid}
    controller = next((r for r in m.owner_references if r.controller), None)
    out.gauge(
        "kube_pod_info",
        "Information about a pod.",
        {
            **labels,
            "host_ip": st.host_ip,
            "pod_ip": st.pod_ip,
            "node": spec.node_name,
            # Empty without a controller, as kube-state-metrics 2.x writes them.
            "created_by_kind": controller.kind if controller else "",
            "created_by_name": controller.name if controller else "",
            "priority_class": spec.priority_class_name,
            "host_network": "true" if spec.host_network else "false",
        },
        1,
    )
    for owner in owner_labels(m.owner_references):
        out.gauge("kube_pod_owner", "The pod's owners.", {**labels, **owner}, 1)
    out.created("pod", "pod", labels, m.creation_timestamp)
    out.timestamp("kube_pod_start_time", "Unix time the pod started.", labels, st.start_time)
    out.timestamp(
        "kube_pod_deletion_timestamp",
        "Unix time the pod's deletion was asked for.",
        labels,
        m.deletion_timestamp,
    )
    out.one_of(
        "kube_pod_status_phase",
        "The pod's current phase (1 for the phase it is in).",
        labels,
        "phase",
        PHASES,
        st.phase,
    )
    if st.qos_class:
        out.gauge(
            "kube_pod_status_qos_class",
            "The pod's QoS class.",
            {**labels, "qos_class": st.qos_class},
            1,
        )
    conditions = {c.type: c.status for c in st.conditions}
    for ctype, name in (
        ("Ready", "kube_pod_status_ready"),
        ("PodScheduled", "kube_pod_status_scheduled"),
    ):
        if ctype in conditions:
            out.one_of(
                name,
                f"Whether the pod's {ctype} condition is true, false or unknown.",
                labels,
                "condition",
                ("true", "false", "unknown"),
                conditions[ctype].lower(),
            )
    out.reason("kube_pod_status_reason", "Why the pod is in its state.", labels, st.reason)
    _runtime(pod, labels, out)
    _containers(pod, labels, out, init=False)
    _containers(pod, labels, out, init=True)


def _cores(text: str) -> float:
    """CPU cores rounded up to the millicore, as kube-state-metrics reads a Quantity."""
    return cpu_millis(text) / 1000


_OVERHEAD: tuple[tuple[str, str, str, Callable[[str], float]], ...] = (
    (
        "cpu",
        "kube_pod_overhead_cpu_cores",
        "The pod overhead in regards to cpu cores associated with running a pod.",
        _cores,
    ),
    (
        "memory",
        "kube_pod_overhead_memory_bytes",
        "The pod overhead in regards to memory associated with running a pod.",
        memory_bytes,  # rounded up to the byte, as kube-state-metrics' Quantity.Value()
    ),
)
"""Each overhead kube-state-metrics reports: resource, family, help and how it is read
(any other resource of spec.overhead, as there, has no family)."""


def _runtime(pod: core_pb2.Pod, labels: Labels, out: Families) -> None:
    """The runtime class a pod names and the overhead its admission set from the class."""
    spec = pod.spec
    for resource, name, help_text, amount in _OVERHEAD:
        if resource not in spec.overhead:
            continue
        try:
            value = amount(spec.overhead[resource])
        except ValueError:
            # The API server refuses such an amount; no sample rather than a wrong one.
            continue
        out.gauge(name, help_text, labels, value)
    # Set, even to "", is what kube-state-metrics tests (a nil pointer there), so presence.
    if spec.HasField("runtime_class_name"):
        out.gauge(
            "kube_pod_runtimeclass_name_info",
            "The runtimeclass associated with the pod.",
            {**labels, "runtimeclass_name": spec.runtime_class_name},
            1,
        )


_STATES = (
    ("waiting", "is waiting", "is waiting (CrashLoopBackOff, ImagePullBackOff...)"),
    ("running", "is running", ""),
    ("terminated", "has terminated", "terminated"),
)
"""A container's three states, each a `*_status_<state>` family (how the help says the
container is in it) and, but running, a `*_reason` family (how the help says why)."""


def _containers(pod: core_pb2.Pod, pod_labels: Labels, out: Families, *, init: bool) -> None:
    prefix = "kube_pod_init_container" if init else "kube_pod_container"
    what = "init container" if init else "container"
    specs = pod.spec.init_containers if init else pod.spec.containers
    statuses = pod.status.init_container_statuses if init else pod.status.container_statuses
    for status in statuses:
        labels = {**pod_labels, "container": status.name}
        spec_image = next((c.image for c in specs if c.name == status.name), status.image)
        out.gauge(
            f"{prefix}_info",
            f"Information about a {what} of a pod.",
            {
                **labels,
                "image_spec": spec_image,
                "image": status.image,
                "image_id": status.image_id,
                "container_id": status.container_id,
            },
            1,
        )
        state, last = status.state, status.last_state
        for name, is_in, why in _STATES:
            out.gauge(
                f"{prefix}_status_{name}",
                f"Whether the {what} {is_in}.",
                labels,
                1 if state.HasField(name) else 0,
            )
            if why:
                out.reason(
                    f"{prefix}_status_{name}_reason",
                    f"Why the {what} {why}.",
                    labels,
                    getattr(state, name).reason,
                )
        if last.terminated.reason:
            out.reason(
                f"{prefix}_status_last_terminated_reason",
                f"Why the {what}'s previous instance terminated.",
                labels,
                last.terminated.reason,
            )
            out.gauge(
                f"{prefix}_status_last_terminated_exitcode",
                f"The exit code of the {what}'s previous instance.",
                labels,
                last.terminated.exit_code,
            )
        out.gauge(
            f"{prefix}_status_ready",
            f"Whether the {what} passes its readiness check.",
            labels,
            1 if status.ready else 0,
        )
        out.counter(
            f"{prefix}_status_restarts_total",
            f"Restarts of the {what}.",
            labels,
            status.restart_count,
        )
    node = pod.spec.node_name
    for spec in specs:
        for kind, amounts in (
            ("requests", spec.resources.requests),
            ("limits", spec.resources.limits),
        ):
            for resource, value in resources(amounts):
                out.gauge(
                    f"{prefix}_resource_{kind}",
                    f"The {what}'s resource {kind}.",
                    {**pod_labels, "container": spec.name, "node": node, **resource},
                    value,
                )
