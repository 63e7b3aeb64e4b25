"""Describing pods, and the container and pod-template sections workloads reuse."""

from __future__ import annotations

from cli.describe.writer import NONE, Writer, timestamp
from client.printing.podstatus import summarize
from client.selectors import format_labels
from proto import core_pb2, meta_pb2


def _port(probe_port: meta_pb2.IntOrString) -> str:
    which = probe_port.WhichOneof("value")
    return str(getattr(probe_port, which)) if which else ""


def probe_text(p: core_pb2.Probe) -> str:
    """kubectl's one-line probe: `http-get http://:80/ delay=0s timeout=1s period=10s ...`."""
    if p.HasField("http_get"):
        g = p.http_get
        action = f"http-get {(g.scheme or 'HTTP').lower()}://{g.host}:{_port(g.port)}{g.path}"
    elif p.HasField("tcp_socket"):
        action = f"tcp-socket {p.tcp_socket.host}:{_port(p.tcp_socket.port)}"
    elif p.HasField("exec"):
        action = "exec [" + " ".join(p.exec.command) + "]"
    elif p.HasField("grpc"):
        action = f"grpc <pod>:{p.grpc.port} {p.grpc.service or ''}".rstrip()
    else:
        action = "unknown"
    return (
        f"{action} delay={p.initial_delay_seconds}s timeout={p.timeout_seconds or 1}s "
        f"period={p.period_seconds or 10}s #success={p.success_threshold or 1} "
        f"#failure={p.failure_threshold or 3}"
    )


def _state(w: Writer, level: int, title: str, state: core_pb2.ContainerState) -> None:
    if state.HasField("running"):
        w.field(level, title, "Running")
        w.field(level + 1, "Started", timestamp(state.running.started_at))
    elif state.HasField("waiting"):
        w.field(level, title, "Waiting")
        w.field(level + 1, "Reason", state.waiting.reason)
        if state.waiting.message:
            w.field(level + 1, "Message", state.waiting.message)
    elif state.HasField("terminated"):
        t = state.terminated
        w.field(level, title, "Terminated")
        w.field(level + 1, "Reason", t.reason)
        if t.message:
            w.field(level + 1, "Message", t.message)
        w.field(level + 1, "Exit Code", t.exit_code)
        w.field(level + 1, "Started", timestamp(t.started_at))
        w.field(level + 1, "Finished", timestamp(t.finished_at))
    else:
        w.field(level, title, "Waiting")


def _env_value(e: core_pb2.EnvVar) -> str:
    if e.HasField("value"):
        return e.value
    src = e.value_from
    if src.HasField("config_map_key_ref"):
        r = src.config_map_key_ref
        return f"<set to the key '{r.key}' of config map '{r.name}'>"
    if src.HasField("secret_key_ref"):
        r2 = src.secret_key_ref
        return f"<set to the key '{r2.key}' in secret '{r2.name}'>"
    if src.HasField("field_ref"):
        return f"({src.field_ref.api_version or 'v1'}:{src.field_ref.field_path})"
    return ""


def write_containers(
    w: Writer,
    level: int,
    title: str,
    containers: list[core_pb2.Container],
    statuses: list[core_pb2.ContainerStatus] | None = None,
) -> None:
    """The Containers (or Init Containers) section, with statuses when known."""
    if not containers:
        return
    by_name = {s.name: s for s in statuses or []}
    w.title(level, f"{title}:")
    for c in containers:
        w.title(level + 1, f"{c.name}:")
        inner = level + 2
        status = by_name.get(c.name)
        if status is not None and status.container_id:
            w.field(inner, "Container ID", status.container_id)
        w.field(inner, "Image", c.image)
        if status is not None and status.image_id:
            w.field(inner, "Image ID", status.image_id)
        ports = [f"{p.container_port}/{p.protocol or 'TCP'}" for p in c.ports]
        w.field(inner, "Port" if len(ports) <= 1 else "Ports", ", ".join(ports))
        if c.command:
            w.title(inner, "Command:")
            for part in c.command:
                w.title(inner + 1, part)
        if c.args:
            w.title(inner, "Args:")
            for part in c.args:
                w.title(inner + 1, part)
        if status is not None:
            _state(w, inner, "State", status.state)
            if status.last_state.ListFields():
                _state(w, inner, "Last State", status.last_state)
            w.field(inner, "Ready", "True" if status.ready else "False")
            w.field(inner, "Restart Count", status.restart_count)
        if c.resources.limits:
            w.mapping(inner, "Limits", dict(c.resources.limits), ":  ")
        if c.resources.requests:
            w.mapping(inner, "Requests", dict(c.resources.requests), ":  ")
        for label, probe_field in (
            ("Liveness", "liveness_probe"),
            ("Readiness", "readiness_probe"),
            ("Startup", "startup_probe"),
        ):
            if c.HasField(probe_field):
                w.field(inner, label, probe_text(getattr(c, probe_field)))
        if c.env:
            w.title(inner, "Environment:")
            for e in c.env:
                w.field(inner + 1, e.name, _env_value(e))
        else:
            w.field(inner, "Environment", NONE)
        if c.volume_mounts:
            w.title(inner, "Mounts:")
            for m in c.volume_mounts:
                mode = "ro" if m.read_only else "rw"
                sub = f',path="{m.sub_path}"' if m.sub_path else ""
                w.title(inner + 1, f"{m.mount_path} from {m.name} ({mode}{sub})")
        else:
            w.field(inner, "Mounts", NONE)


def write_volumes(w: Writer, level: int, volumes: list[core_pb2.Volume]) -> None:
    """The Volumes section."""
    if not volumes:
        w.field(level, "Volumes", NONE)
        return
    w.title(level, "Volumes:")
    for v in volumes:
        w.title(level + 1, f"{v.name}:")
        inner = level + 2
        if v.HasField("config_map"):
            w.field(inner, "Type", "ConfigMap (a volume populated by a ConfigMap)")
            w.field(inner, "Name", v.config_map.name)
            w.field(inner, "Optional", str(v.config_map.optional).lower())
        elif v.HasField("secret"):
            w.field(inner, "Type", "Secret (a volume populated by a Secret)")
            w.field(inner, "SecretName", v.secret.secret_name)
            w.field(inner, "Optional", str(v.secret.optional).lower())
        elif v.HasField("downward_api"):
            w.field(inner, "Type", "DownwardAPI (a volume populated by information about the pod)")
            w.title(inner, "Items:")
            for item in v.downward_api.items:
                source = item.field_ref.field_path or item.resource_field_ref.resource
                w.title(inner + 1, f"{source} -> {item.path}")
        elif v.HasField("projected"):
            w.field(
                inner,
                "Type",
                "Projected (a volume that contains injected data from multiple sources)",
            )
            _write_projections(w, inner, v.projected)
        elif v.HasField("host_path"):
            w.field(inner, "Type", "HostPath (bare host directory volume)")
            w.field(inner, "Path", v.host_path.path)
            w.field(inner, "HostPathType", v.host_path.type)
        elif v.HasField("persistent_volume_claim"):
            w.field(
                inner,
                "Type",
                "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same "
                "namespace)",
            )
            w.field(inner, "ClaimName", v.persistent_volume_claim.claim_name)
            w.field(inner, "ReadOnly", str(v.persistent_volume_claim.read_only).lower())
        elif v.HasField("ephemeral"):
            w.field(
                inner,
                "Type",
                "EphemeralVolume (an inline specification for a volume that gets created and "
                "deleted with the pod)",
            )
            _write_claim_template(w, inner, v.ephemeral.volume_claim_template)
        else:
            w.field(inner, "Type", "EmptyDir (a temporary directory that shares a pod's lifetime)")
            w.field(inner, "Medium", v.empty_dir.medium)
            w.field(inner, "SizeLimit", v.empty_dir.size_limit or "<unset>")


def _write_claim_template(
    w: Writer, level: int, template: core_pb2.PersistentVolumeClaimTemplate
) -> None:
    """The claim an ephemeral volume will get, as kubectl prints a claim that is not yet
    one: no volume, capacity or access modes before it is bound."""
    spec = template.spec
    w.line(level, "StorageClass:", spec.storage_class_name)
    w.line(level, "Volume:", "")
    w.mapping(level, "Labels", dict(template.metadata.labels))
    w.mapping(level, "Annotations", dict(template.metadata.annotations))
    w.line(level, "Capacity:", "")
    w.line(level, "Access Modes:", "")
    if spec.HasField("volume_mode"):
        w.field(level, "VolumeMode", spec.volume_mode)


def _write_projections(w: Writer, level: int, projected: core_pb2.ProjectedVolumeSource) -> None:
    """A projected volume's sources, in kubectl describe's words."""
    for source in projected.sources:
        if source.HasField("service_account_token"):
            token = source.service_account_token
            w.field(level, "TokenExpirationSeconds", str(token.expiration_seconds))
        elif source.HasField("config_map"):
            w.field(level, "ConfigMapName", source.config_map.name)
            w.field(level, "Optional", str(source.config_map.optional).lower())
        elif source.HasField("secret"):
            w.field(level, "SecretName", source.secret.name)
            w.field(level, "Optional", str(source.secret.optional).lower())
        elif source.HasField("downward_api"):
            w.field(level, "DownwardAPI", "true")


def write_template(w: Writer, level: int, template: core_pb2.PodTemplateSpec) -> None:
    """The Pod Template section of workloads."""
    w.title(level, "Pod Template:")
    w.mapping(level + 1, "Labels", dict(template.metadata.labels))
    write_containers(w, level + 1, "Init Containers", list(template.spec.init_containers))
    write_containers(w, level + 1, "Containers", list(template.spec.containers))
    write_volumes(w, level + 1, list(template.spec.volumes))


def _tolerations(spec: core_pb2.PodSpec) -> list[str]:
    out = []
    for t in spec.tolerations:
        text = t.key or ""
        if t.operator == "Exists":
            text += " op=Exists" if text else "op=Exists"
        elif t.value:
            text += f"={t.value}"
        if t.effect:
            text += f":{t.effect}"
        if t.HasField("toleration_seconds"):
            text += f" for {t.toleration_seconds}s"
        out.append(text)
    return out


def describe_pod(w: Writer, pod: core_pb2.Pod) -> None:
    """The page of a pod, before its events."""
    meta, spec, st = pod.metadata, pod.spec, pod.status
    w.field(0, "Name", meta.name)
    w.field(0, "Namespace", meta.namespace)
    w.field(0, "Priority", spec.priority)
    if spec.priority_class_name:
        w.field(0, "Priority Class Name", spec.priority_class_name)
    if spec.runtime_class_name:
        w.field(0, "Runtime Class Name", spec.runtime_class_name)
    if spec.service_account_name:
        w.field(0, "Service Account", spec.service_account_name)
    node = spec.node_name + (f"/{st.host_ip}" if st.host_ip else "") if spec.node_name else ""
    w.field(0, "Node", node)
    if st.start_time:
        w.field(0, "Start Time", timestamp(st.start_time))
    w.mapping(0, "Labels", dict(meta.labels))
    w.mapping(0, "Annotations", dict(meta.annotations), ": ")
    if meta.deletion_timestamp:
        w.field(
            0,
            "Status",
            f"Terminating (lasts {meta.deletion_grace_period_seconds}s)",
        )
        w.field(0, "Termination Grace Period", f"{meta.deletion_grace_period_seconds}s")
    else:
        w.field(0, "Status", st.phase or summarize(pod).status)
    if st.reason:
        w.field(0, "Reason", st.reason)
    if st.message:
        w.field(0, "Message", st.message)
    w.field(0, "IP", st.pod_ip)
    if st.pod_ips:
        w.title(0, "IPs:")
        for ip in st.pod_ips:
            w.field(1, "IP", ip.ip)
    else:
        w.field(0, "IPs", NONE)
    for ref in meta.owner_references:
        if ref.controller:
            w.field(0, "Controlled By", f"{ref.kind}/{ref.name}")
    write_containers(
        w, 0, "Init Containers", list(spec.init_containers), list(st.init_container_statuses)
    )
    write_containers(w, 0, "Containers", list(spec.containers), list(st.container_statuses))
    if spec.readiness_gates:
        # Each gate with the status of the first condition of its type, as kubectl reads it.
        w.title(0, "Readiness Gates:")
        w.line(1, "Type", "Status")
        for gate in spec.readiness_gates:
            found = next((c for c in st.conditions if c.type == gate.condition_type), None)
            w.line(1, gate.condition_type, found.status if found is not None else NONE)
    if st.conditions:
        w.title(0, "Conditions:")
        w.line(1, "Type", "Status")
        for c in st.conditions:
            w.line(1, c.type, c.status)
    write_volumes(w, 0, list(spec.volumes))
    w.field(0, "Node-Selectors", format_labels(spec.node_selector))
    tolerations = _tolerations(spec)
    if tolerations:
        for i, t in enumerate(tolerations):
            w.line(0, "Tolerations:" if i == 0 else "", t)
    else:
        w.field(0, "Tolerations", NONE)
