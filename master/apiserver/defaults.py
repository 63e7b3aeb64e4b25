"""Defaults as Kubernetes sets them, for the kinds whose defaults are more than a line:
pods and every pod template, the workloads, Services and Nodes. Each kind's strategy
(strategies/<kind>.py) calls its function here, before validation on create and update;
one-line defaults of the smaller kinds live in their strategies.

Each rule follows Kubernetes' `pkg/apis/<group>/v1/defaults.go` (and, for the two
default tolerations, the DefaultTolerationSeconds admission plugin; for a Job's
generated selector, the Job registry strategy). Defaulting only fills fields that are
unset, so running it twice, or on an update of an already defaulted object, changes
nothing.

Where Tugboat deliberately differs from Kubernetes:
- the not-ready/unreachable tolerations last DEFAULT_NOT_READY_TOLERATION_SECONDS and
  DEFAULT_UNREACHABLE_TOLERATION_SECONDS (2 s, Kubernetes: 300 s; the API server's
  --default-not-ready-toleration and --default-unreachable-toleration) so that pods leave
  a dead node quickly on a small cluster;
- a Job without a uid gets one here, because its generated selector is built from it
  (Kubernetes fills the uid just before; the API server keeps a uid that is set).
"""

from __future__ import annotations

import uuid

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from proto import core_pb2, meta_pb2, workloads_pb2

__all__ = [
    "DEFAULT_NOT_READY_TOLERATION_SECONDS",
    "DEFAULT_UNREACHABLE_TOLERATION_SECONDS",
    "default_cron_job",
    "default_daemon_set",
    "default_deployment",
    "default_job",
    "default_node",
    "default_pod",
    "default_replica_set",
    "default_service_spec",
    "default_stateful_set",
    "image_pull_policy",
    "set_default_tolerations",
]

DEFAULT_UNREACHABLE_TOLERATION_SECONDS = 2
"""How long a pod stays bound to an unreachable node (--default-unreachable-toleration)."""
DEFAULT_NOT_READY_TOLERATION_SECONDS = 2
"""How long a pod stays bound to a not-ready node (--default-not-ready-toleration)."""

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"

JOB_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
"""Kubernetes sets both the prefixed labels and the legacy ones on a Job's pods."""

_DEFAULT_MODE = 0o644


def image_pull_policy(image: str) -> str:
    """Always for `:latest` or an image without tag or digest, else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    name = image.rsplit("/", 1)[-1]  # a registry's host:port is not a tag
    tag = name.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


# ---- pods and pod templates ----


def default_pod(pod: core_pb2.Pod) -> None:
    _pod_spec(pod.spec, restart_policy="Always")
    _default_tolerations(pod.spec.tolerations)


def default_template(template: core_pb2.PodTemplateSpec, restart_policy: str | None) -> None:
    _pod_spec(template.spec, restart_policy=restart_policy)


def _pod_spec(spec: core_pb2.PodSpec, *, restart_policy: str | None) -> None:
    if not spec.restart_policy and restart_policy:
        spec.restart_policy = restart_policy
    if not spec.HasField("termination_grace_period_seconds"):
        spec.termination_grace_period_seconds = 30
    spec.dns_policy = spec.dns_policy or "ClusterFirst"
    spec.service_account_name = spec.service_account_name or "default"
    spec.scheduler_name = spec.scheduler_name or "default-scheduler"
    every: list[core_pb2.Container | core_pb2.EphemeralContainer] = [
        *spec.init_containers,
        *spec.containers,
        *spec.ephemeral_containers,
    ]
    for c in every:
        _container(c, host_network=spec.host_network)
    for v in spec.volumes:
        _volume(v)


def _container(c: core_pb2.Container | core_pb2.EphemeralContainer, *, host_network: bool) -> None:
    c.image_pull_policy = c.image_pull_policy or image_pull_policy(c.image)
    c.termination_message_path = c.termination_message_path or "/dev/termination-log"
    c.termination_message_policy = c.termination_message_policy or "File"
    for p in c.ports:
        p.protocol = p.protocol or "TCP"
        if host_network and not p.host_port:
            p.host_port = p.container_port
    for env in c.env:
        ref = env.value_from.field_ref
        if env.value_from.HasField("field_ref") and not ref.api_version:
            ref.api_version = "v1"
    # A limit without a request requests the limit, so scheduling sees what the pod may use.
    for name, limit in c.resources.limits.items():
        if name not in c.resources.requests:
            c.resources.requests[name] = limit
    for field in ("liveness_probe", "readiness_probe", "startup_probe"):
        if c.HasField(field):
            _probe(getattr(c, field))


def _probe(probe: core_pb2.Probe) -> None:
    for field, value in (
        ("timeout_seconds", 1),
        ("period_seconds", 10),
        ("success_threshold", 1),
        ("failure_threshold", 3),
    ):
        if not probe.HasField(field):
            setattr(probe, field, value)
    if probe.HasField("http_get"):
        probe.http_get.path = probe.http_get.path or "/"
        probe.http_get.scheme = probe.http_get.scheme or "HTTP"


def _volume(v: core_pb2.Volume) -> None:
    sources = (
        "empty_dir",
        "host_path",
        "config_map",
        "secret",
        "persistent_volume_claim",
        "downward_api",
        "projected",
        "ephemeral",
    )
    if not any(v.HasField(s) for s in sources):
        v.empty_dir.SetInParent()
    template = v.ephemeral.volume_claim_template
    if v.ephemeral.HasField("volume_claim_template") and not template.spec.HasField("volume_mode"):
        # Kubernetes defaults the template's spec as a claim's, so the stored pod shows
        # the claim it will get.
        template.spec.volume_mode = "Filesystem"
    for field in ("config_map", "secret", "downward_api", "projected"):
        source = getattr(v, field)
        if v.HasField(field) and not source.HasField("default_mode"):
            source.default_mode = _DEFAULT_MODE
    for projection in v.projected.sources:
        token = projection.service_account_token
        if projection.HasField("service_account_token") and not token.HasField(
            "expiration_seconds"
        ):
            token.expiration_seconds = 3600


def set_default_tolerations(*, unreachable: int | None, not_ready: int | None) -> tuple[int, int]:
    """Set the default tolerationSeconds (None keeps a value); returns the previous pair."""
    global DEFAULT_UNREACHABLE_TOLERATION_SECONDS, DEFAULT_NOT_READY_TOLERATION_SECONDS
    previous = (DEFAULT_UNREACHABLE_TOLERATION_SECONDS, DEFAULT_NOT_READY_TOLERATION_SECONDS)
    if unreachable is not None:
        DEFAULT_UNREACHABLE_TOLERATION_SECONDS = unreachable
    if not_ready is not None:
        DEFAULT_NOT_READY_TOLERATION_SECONDS = not_ready
    return previous


def _default_tolerations(tolerations: RepeatedCompositeFieldContainer[core_pb2.Toleration]) -> None:
    existing = list(tolerations)
    # Module globals read per pod, so the API server's flags apply to every later create.
    seconds = {
        NOT_READY_TAINT: DEFAULT_NOT_READY_TOLERATION_SECONDS,
        UNREACHABLE_TAINT: DEFAULT_UNREACHABLE_TOLERATION_SECONDS,
    }
    for key in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if any(_tolerates_no_execute(t, key) for t in existing):
            continue
        tolerations.add(
            key=key,
            operator="Exists",
            effect="NoExecute",
            toleration_seconds=seconds[key],
        )


def _tolerates_no_execute(t: core_pb2.Toleration, key: str) -> bool:
    """Whether a toleration already covers the key's NoExecute taint (whatever its value)."""
    key_ok = t.key == key or (not t.key and t.operator == "Exists")
    return key_ok and t.effect in ("", "NoExecute")


# ---- workloads ----


def _replicas(spec: workloads_pb2.ReplicaSetSpec | workloads_pb2.DeploymentSpec) -> None:
    if not spec.HasField("replicas"):
        spec.replicas = 1


def default_replica_set(rs: workloads_pb2.ReplicaSet) -> None:
    _replicas(rs.spec)
    default_template(rs.spec.template, "Always")


def default_replication_controller(rc: workloads_pb2.ReplicationController) -> None:
    """core/v1's: the selector and the RC's own labels default to the template's labels."""
    spec = rc.spec
    labels = dict(spec.template.metadata.labels)
    if labels and not spec.selector:
        spec.selector.update(labels)
    if labels and not rc.metadata.labels:
        rc.metadata.labels.update(labels)
    if not spec.HasField("replicas"):
        spec.replicas = 1
    default_template(spec.template, "Always")


def default_deployment(d: workloads_pb2.Deployment) -> None:
    spec = d.spec
    _replicas(spec)
    default_template(spec.template, "Always")
    spec.strategy.type = spec.strategy.type or "RollingUpdate"
    if spec.strategy.type == "RollingUpdate":
        ru = spec.strategy.rolling_update
        if not ru.HasField("max_unavailable"):
            ru.max_unavailable.str_val = "25%"
        if not ru.HasField("max_surge"):
            ru.max_surge.str_val = "25%"
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = 10
    if not spec.HasField("progress_deadline_seconds"):
        spec.progress_deadline_seconds = 600


def default_daemon_set(ds: workloads_pb2.DaemonSet) -> None:
    spec = ds.spec
    default_template(spec.template, "Always")
    spec.update_strategy.type = spec.update_strategy.type or "RollingUpdate"
    if spec.update_strategy.type == "RollingUpdate":
        ru = spec.update_strategy.rolling_update
        if not ru.HasField("max_unavailable"):
            ru.max_unavailable.int_val = 1
        if not ru.HasField("max_surge"):
            ru.max_surge.int_val = 0
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = 10


def default_stateful_set(sts: workloads_pb2.StatefulSet) -> None:
    spec = sts.spec
    default_template(spec.template, "Always")
    if not spec.HasField("replicas"):
        spec.replicas = 1
    spec.pod_management_policy = spec.pod_management_policy or "OrderedReady"
    spec.update_strategy.type = spec.update_strategy.type or "RollingUpdate"
    if spec.update_strategy.type == "RollingUpdate":
        ru = spec.update_strategy.rolling_update
        if not ru.HasField("partition"):
            ru.partition = 0
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = 10
    retention = spec.persistent_volume_claim_retention_policy
    retention.when_deleted = retention.when_deleted or "Retain"
    retention.when_scaled = retention.when_scaled or "Retain"
    # The claim templates are stored as written: each claim gets its defaults when the
    # controller creates it, and `kubectl apply` of the same file then finds nothing changed.


def default_job(job: workloads_pb2.Job) -> None:
    spec = job.spec
    # A Job's pods must not restart in place: validation requires OnFailure or Never.
    default_template(spec.template, None)
    if not spec.HasField("completions") and not spec.HasField("parallelism"):
        spec.completions = 1
    if not spec.HasField("parallelism"):
        spec.parallelism = 1
    if not spec.HasField("backoff_limit"):
        # With a limit per index the Job-wide limit would only get in its way.
        per_index = spec.HasField("backoff_limit_per_index")
        spec.backoff_limit = 2**31 - 1 if per_index else 6
    for rule in spec.pod_failure_policy.rules:
        for pattern in rule.on_pod_conditions:
            pattern.status = pattern.status or "True"
    spec.completion_mode = spec.completion_mode or "NonIndexed"
    if not spec.HasField("pod_replacement_policy"):
        # Kubernetes 1.32's default: with a podFailurePolicy only Failed is allowed.
        failure_rules = bool(spec.pod_failure_policy.rules)
        spec.pod_replacement_policy = "Failed" if failure_rules else "TerminatingOrFailed"
    if not spec.HasField("suspend"):
        spec.suspend = False
    if not job.metadata.labels:
        job.metadata.labels.update(spec.template.metadata.labels)
    if not spec.manual_selector:
        _job_selector(job)


def default_cron_job(cj: workloads_pb2.CronJob) -> None:
    # As Kubernetes: the Job spec inside is left as written (its Jobs are defaulted when
    # made), but the pod template is defaulted as every pod template is.
    spec = cj.spec
    spec.concurrency_policy = spec.concurrency_policy or "Allow"
    if not spec.HasField("suspend"):
        spec.suspend = False
    if not spec.HasField("successful_jobs_history_limit"):
        spec.successful_jobs_history_limit = 3
    if not spec.HasField("failed_jobs_history_limit"):
        spec.failed_jobs_history_limit = 1
    if spec.job_template.spec.HasField("template"):
        default_template(spec.job_template.spec.template, None)


def _job_selector(job: workloads_pb2.Job) -> None:
    """Select the Job's own pods by its uid, as Kubernetes' job strategy does."""
    meta = job.metadata
    if not meta.uid:
        meta.uid = str(uuid.uuid4())
    labels = job.spec.template.metadata.labels
    for key in JOB_UID_LABELS:
        labels.setdefault(key, meta.uid)
    for key in JOB_NAME_LABELS:
        if meta.name:
            labels.setdefault(key, meta.name)
    # As Kubernetes: a selector the user gave is narrowed to this Job's uid too.
    selector: meta_pb2.LabelSelector = job.spec.selector
    selector.match_labels.setdefault(JOB_UID_LABELS[0], meta.uid)


# ---- services and nodes ----


def default_service_spec(spec: core_pb2.ServiceSpec) -> None:
    spec.type = spec.type or "ClusterIP"
    spec.session_affinity = spec.session_affinity or "None"
    if spec.session_affinity == "ClientIP":
        cfg = spec.session_affinity_config.client_ip
        if not cfg.HasField("timeout_seconds"):
            cfg.timeout_seconds = 10800
    # Kubernetes' "externally accessible": nodePorts, or a ClusterIP with externalIPs.
    if spec.type in ("NodePort", "LoadBalancer") or (
        spec.type == "ClusterIP" and spec.external_ips
    ):
        spec.external_traffic_policy = spec.external_traffic_policy or "Cluster"
    if spec.type != "ExternalName":
        spec.internal_traffic_policy = spec.internal_traffic_policy or "Cluster"
        # A single-stack IPv4 cluster: what Kubernetes fills in on one.
        spec.ip_family_policy = spec.ip_family_policy or "SingleStack"
        if not spec.ip_families:
            spec.ip_families.append("IPv4")
    if spec.type == "LoadBalancer" and not spec.HasField("allocate_load_balancer_node_ports"):
        spec.allocate_load_balancer_node_ports = True
    for p in spec.ports:
        p.protocol = p.protocol or "TCP"
        which = p.target_port.WhichOneof("value")
        if which is None or getattr(p.target_port, which) in (0, ""):
            p.target_port.int_val = p.port


def default_node(node: core_pb2.Node) -> None:
    # The scheduler reads allocatable; a node that reports only capacity offers all of it.
    if not node.status.allocatable:
        node.status.allocatable.update(node.status.capacity)
