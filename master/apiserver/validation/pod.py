"""Validation of PodSpec (pods and every pod template) and of Pod updates.

Follows Kubernetes' `pkg/apis/core/validation` (ValidatePodSpec and friends) for the
fields Tugboat's API has, with the same messages and field paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

from client.names import (
    is_config_map_key,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_port_name,
    is_qualified_name,
    is_valid_label_value,
)
from client.sidecars import SIDECAR_RESTART_POLICY, is_sidecar
from master.apiserver.validation import ephemeral
from master.apiserver.validation.claims import validate_ephemeral_volume
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import (
    PROTOCOLS,
    TAINT_EFFECTS,
    file_mode,
    key_to_path,
    port_or_name,
    quantity,
    relative_path,
    unique_name,
    validate_ip,
)
from master.apiserver.validation.meta import validate_label_selector, validate_labels
from master.apiserver.validation.poddns import dns_config, host_aliases
from master.apiserver.validation.projection import (
    downward_api_volume,
    projected_volume,
    resource_field_ref,
)
from master.apiserver.validation.windows import validate_windows
from proto import core_pb2

RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
TOLERATION_OPERATORS = ("Exists", "Equal")
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
HOST_PATH_TYPES = (
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
)
STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage", "pods")
FIELD_REF_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
MAX_INT32 = 2**31 - 1

_PROBES = (
    ("liveness_probe", "livenessProbe"),
    ("readiness_probe", "readinessProbe"),
    ("startup_probe", "startupProbe"),
)


def validate_pod_spec(
    errs: Errors,
    spec: core_pb2.PodSpec,
    path: str,
    *,
    restart_policies: Sequence[str] = RESTART_POLICIES,
    ephemeral_allowed: bool = False,
) -> None:
    """Every field of a PodSpec; `restart_policies` narrows what the owner kind allows.
    Only a pod's own spec has ephemeral containers, never a template."""
    volumes = _volumes(errs, spec.volumes, child(path, "volumes"))
    if not spec.containers:
        errs.required(child(path, "containers"))
    names: set[str] = set()
    port_names: set[str] = set()
    for field, json_name in (("init_containers", "initContainers"), ("containers", "containers")):
        for i, c in enumerate(getattr(spec, field)):
            cpath = index(child(path, json_name), i)
            _container(errs, c, cpath, volumes, init=field == "init_containers")
            _lifecycle(errs, c, cpath, spec, init=field == "init_containers")
            if c.name in names:
                errs.duplicate(child(cpath, "name"), c.name)
            names.add(c.name)
            for j, p in enumerate(c.ports):
                if p.name:
                    if p.name in port_names:
                        errs.duplicate(index(child(cpath, "ports"), j) + ".name", p.name)
                    port_names.add(p.name)
                if spec.host_network and p.host_port and p.host_port != p.container_port:
                    errs.invalid(
                        index(child(cpath, "ports"), j) + ".hostPort",
                        p.host_port,
                        "must match `containerPort` when `hostNetwork` is true",
                    )
    ephemeral_path = child(path, "ephemeralContainers")
    if spec.ephemeral_containers and not ephemeral_allowed:
        errs.forbidden(ephemeral_path, "ephemeral containers not allowed in pod template")
    else:
        for i, e in enumerate(spec.ephemeral_containers):
            epath = index(ephemeral_path, i)
            _container(errs, ephemeral.common_part(e), epath, volumes, init=False)
            ephemeral.validate_own_fields(errs, e, epath, spec)
            if e.name in names:
                errs.duplicate(child(epath, "name"), e.name)
            names.add(e.name)
    validate_windows(errs, spec, path)
    rp = child(path, "restartPolicy")
    if not spec.restart_policy:
        errs.required(rp, "valid values: " + ", ".join(f'"{r}"' for r in restart_policies))
    elif spec.restart_policy not in restart_policies:
        errs.unsupported(rp, spec.restart_policy, restart_policies)
    errs.enum(child(path, "dnsPolicy"), spec.dns_policy, DNS_POLICIES, required=False)
    dns_config(errs, spec, path)
    host_aliases(errs, spec, path)
    gates: set[str] = set()
    for i, gate in enumerate(spec.scheduling_gates):
        unique_name(
            errs, index(child(path, "schedulingGates"), i), gate.name, gates, is_qualified_name
        )
    if spec.scheduling_gates and spec.node_name:
        errs.forbidden(
            child(path, "nodeName"), "cannot be set until all schedulingGates have been cleared"
        )
    for i, readiness_gate in enumerate(spec.readiness_gates):
        gate_path = child(index(child(path, "readinessGates"), i), "conditionType")
        condition = readiness_gate.condition_type
        errs.invalid_each(gate_path, condition, is_qualified_name(condition))
    if spec.HasField("runtime_class_name"):
        name = spec.runtime_class_name
        errs.invalid_each(child(path, "runtimeClassName"), name, is_dns1123_subdomain(name))
    if spec.overhead:
        validate_overhead(errs, spec.overhead, child(path, "overhead"))
    if spec.share_process_namespace and spec.host_pid:
        errs.invalid(
            child(path, "shareProcessNamespace"),
            True,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        )
    if spec.HasField("termination_grace_period_seconds"):
        errs.non_negative(
            child(path, "terminationGracePeriodSeconds"), spec.termination_grace_period_seconds
        )
    if spec.HasField("active_deadline_seconds") and not (
        1 <= spec.active_deadline_seconds <= MAX_INT32
    ):
        errs.invalid(
            child(path, "activeDeadlineSeconds"),
            spec.active_deadline_seconds,
            f"must be between 1 and {MAX_INT32}, inclusive",
        )
    for field, json_name, rule in (
        ("node_name", "nodeName", is_dns1123_subdomain),
        ("scheduler_name", "schedulerName", is_dns1123_subdomain),
        ("priority_class_name", "priorityClassName", is_dns1123_subdomain),
        ("service_account_name", "serviceAccountName", is_dns1123_subdomain),
        ("hostname", "hostname", is_dns1123_label),
        ("subdomain", "subdomain", is_dns1123_label),
    ):
        value = getattr(spec, field)
        if value:
            errs.invalid_each(child(path, json_name), value, rule(value))
    errs.enum(
        child(path, "preemptionPolicy"),
        spec.preemption_policy,
        ("PreemptLowerPriority", "Never"),
        required=False,
    )
    validate_labels(errs, spec.node_selector, child(path, "nodeSelector"))
    for i, t in enumerate(spec.tolerations):
        _toleration(errs, t, index(child(path, "tolerations"), i))
    if spec.HasField("affinity"):
        _affinity(errs, spec.affinity, child(path, "affinity"))
    for i, tsc in enumerate(spec.topology_spread_constraints):
        _spread(errs, tsc, index(child(path, "topologySpreadConstraints"), i))


# ---- containers ----


def _container(
    errs: Errors, c: core_pb2.Container, path: str, volumes: set[str], *, init: bool
) -> None:
    errs.syntax(child(path, "name"), c.name, is_dns1123_label)
    if not c.image.strip():
        errs.required(child(path, "image"))
    errs.enum(child(path, "imagePullPolicy"), c.image_pull_policy, PULL_POLICIES, required=True)
    errs.enum(
        child(path, "terminationMessagePolicy"),
        c.termination_message_policy,
        ("File", "FallbackToLogsOnError"),
        required=False,
    )
    for i, p in enumerate(c.ports):
        _container_port(errs, p, index(child(path, "ports"), i))
    _env(errs, c, path)
    _resources(errs, c.resources, child(path, "resources"))
    _volume_mounts(
        errs,
        c.volume_mounts,
        child(path, "volumeMounts"),
        volumes,
        privileged=c.security_context.privileged,
    )
    if c.restart_policy and not init:
        errs.forbidden(child(path, "restartPolicy"), "may not be set for non-init containers")
    elif c.restart_policy:
        errs.enum(
            child(path, "restartPolicy"),
            c.restart_policy,
            (SIDECAR_RESTART_POLICY,),
            required=False,
        )
    for field, json_name in _PROBES:
        if not c.HasField(field):
            continue
        ppath = child(path, json_name)
        if init and not is_sidecar(c):
            errs.forbidden(ppath, "may not be set for init containers")
            continue
        _probe(errs, getattr(c, field), ppath, once=field != "readiness_probe")
    sc = c.security_context
    for field, json_name in (("run_as_user", "runAsUser"), ("run_as_group", "runAsGroup")):
        if sc.HasField(field):
            errs.non_negative(child(child(path, "securityContext"), json_name), getattr(sc, field))


def _container_port(errs: Errors, p: core_pb2.ContainerPort, path: str) -> None:
    errs.port(child(path, "containerPort"), p.container_port)
    if p.host_port:
        errs.port(child(path, "hostPort"), p.host_port)
    errs.enum(child(path, "protocol"), p.protocol, PROTOCOLS, required=True)
    if p.name:
        errs.invalid_each(child(path, "name"), p.name, is_port_name(p.name))
    if p.host_ip:
        validate_ip(errs, child(path, "hostIP"), p.host_ip)


def _env(errs: Errors, c: core_pb2.Container, path: str) -> None:
    for i, env in enumerate(c.env):
        epath = index(child(path, "env"), i)
        errs.syntax(child(epath, "name"), env.name, is_env_var_name)
        if env.HasField("value_from"):
            if env.value:
                errs.invalid(
                    child(epath, "valueFrom"), "", "may not be specified when `value` is not empty"
                )
            _env_source(errs, env.value_from, child(epath, "valueFrom"))
    for i, src in enumerate(c.env_from):
        fpath = index(child(path, "envFrom"), i)
        if src.prefix:
            errs.invalid_each(child(fpath, "prefix"), src.prefix, is_env_var_name(src.prefix))
        refs = [f for f in ("config_map_ref", "secret_ref") if src.HasField(f)]
        if not refs:
            errs.invalid(fpath, "", "must specify one of: `configMapRef` or `secretRef`")
        elif len(refs) > 1:
            errs.forbidden(fpath, "may not have more than one field specified at a time")
        for field, json_name in (("config_map_ref", "configMapRef"), ("secret_ref", "secretRef")):
            if src.HasField(field):
                name = getattr(src, field).name
                npath = child(child(fpath, json_name), "name")
                errs.syntax(npath, name, is_dns1123_subdomain)


def _env_source(errs: Errors, src: core_pb2.EnvVarSource, path: str) -> None:
    fields = [
        (f, j)
        for f, j in (
            ("field_ref", "fieldRef"),
            ("resource_field_ref", "resourceFieldRef"),
            ("config_map_key_ref", "configMapKeyRef"),
            ("secret_key_ref", "secretKeyRef"),
        )
        if src.HasField(f)
    ]
    if not fields:
        errs.invalid(
            path,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
            "`secretKeyRef`",
        )
        return
    if len(fields) > 1:
        errs.invalid(path, "", "may not have more than one field specified at a time")
        return
    field, json_name = fields[0]
    spath = child(path, json_name)
    if field == "field_ref":
        fp = src.field_ref.field_path
        if not fp:
            errs.required(child(spath, "fieldPath"))
        elif not (
            fp in FIELD_REF_PATHS
            or (
                fp.startswith(("metadata.labels['", "metadata.annotations['")) and fp.endswith("']")
            )
            or fp in ("metadata.labels", "metadata.annotations")
        ):
            errs.unsupported(child(spath, "fieldPath"), fp, FIELD_REF_PATHS)
        return
    if field == "resource_field_ref":
        resource_field_ref(errs, src.resource_field_ref, spath, in_volume=False)
        return
    ref = getattr(src, field)
    if not ref.name:
        errs.required(child(spath, "name"))
    errs.syntax(child(spath, "key"), ref.key, is_config_map_key)


def _resource_name(errs: Errors, name: str, path: str) -> None:
    if "/" in name:
        errs.invalid_each(path, name, is_qualified_name(name))
    elif name not in STANDARD_RESOURCES and not name.startswith("hugepages-"):
        errs.invalid(path, name, "must be a standard resource type or fully qualified")


def _resources(errs: Errors, res: core_pb2.ResourceRequirements, path: str) -> None:
    limits: dict[str, Fraction] = {}
    for name in sorted(res.limits):
        lpath = index(child(path, "limits"), name)
        _resource_name(errs, name, lpath)
        value = quantity(errs, lpath, res.limits[name])
        if value is not None:
            limits[name] = value
    for name in sorted(res.requests):
        rpath = index(child(path, "requests"), name)
        _resource_name(errs, name, rpath)
        value = quantity(errs, rpath, res.requests[name])
        if value is not None and name in limits and value > limits[name]:
            errs.invalid(
                rpath,
                res.requests[name],
                f"must be less than or equal to {name} limit of {res.limits[name]}",
            )


def validate_overhead(errs: Errors, overhead: Mapping[str, str], path: str) -> None:
    """A pod's or a RuntimeClass's overhead, checked as Kubernetes checks it: as the limits
    of a container's resources (so its errors name `<path>.limits[cpu]`)."""
    _resources(errs, core_pb2.ResourceRequirements(limits=overhead), path)


PROPAGATIONS = ("None", "HostToContainer", "Bidirectional")
RECURSIVE_READ_ONLY = ("Disabled", "IfPossible", "Enabled")


def _volume_mounts(
    errs: Errors,
    mounts: Sequence[core_pb2.VolumeMount],
    path: str,
    volumes: set[str],
    *,
    privileged: bool,
) -> None:
    seen: set[str] = set()
    for i, m in enumerate(mounts):
        mpath = index(path, i)
        if not m.name:
            errs.required(child(mpath, "name"))
        elif m.name not in volumes:
            errs.not_found(child(mpath, "name"), m.name)
        if not m.mount_path:
            errs.required(child(mpath, "mountPath"))
        elif m.mount_path in seen:
            errs.invalid(child(mpath, "mountPath"), m.mount_path, "must be unique")
        seen.add(m.mount_path)
        if m.sub_path:
            relative_path(errs, child(mpath, "subPath"), m.sub_path)
        if m.sub_path_expr:
            if m.sub_path:
                errs.invalid(
                    child(mpath, "subPathExpr"),
                    m.sub_path_expr,
                    "subPathExpr and subPath are mutually exclusive",
                )
            relative_path(errs, child(mpath, "subPathExpr"), m.sub_path_expr)
        _mount_modes(errs, m, mpath, privileged=privileged)


def _mount_modes(errs: Errors, m: core_pb2.VolumeMount, path: str, *, privileged: bool) -> None:
    """mountPropagation and recursiveReadOnly, as Kubernetes' validation allows them."""
    propagation = m.mount_propagation if m.HasField("mount_propagation") else ""
    if propagation:
        if propagation not in PROPAGATIONS:
            errs.unsupported(child(path, "mountPropagation"), propagation, PROPAGATIONS)
        elif propagation == "Bidirectional" and not privileged:
            errs.forbidden(
                child(path, "mountPropagation"),
                "Bidirectional mount propagation is available only to privileged containers",
            )
    if not m.HasField("recursive_read_only"):
        return
    rro, where = m.recursive_read_only, child(path, "recursiveReadOnly")
    if rro not in RECURSIVE_READ_ONLY:
        errs.unsupported(where, rro, RECURSIVE_READ_ONLY)
    elif rro != "Disabled":
        if not m.read_only:
            errs.forbidden(where, "may only be specified when readOnly is true")
        if propagation not in ("", "None"):
            errs.forbidden(
                where, "may only be specified when mountPropagation is None or not specified"
            )


# ---- probes ----


def _handler(
    errs: Errors,
    handler: core_pb2.Probe | core_pb2.LifecycleHandler,
    path: str,
    kinds: Sequence[tuple[str, str]],
) -> None:
    """Exactly one action of `kinds` (field, JSON name), each valid: a probe's or a hook's."""
    handlers = [(f, j) for f, j in kinds if handler.HasField(f)]
    if not handlers:
        errs.required(path, "must specify a handler type")
    for _, json_name in handlers[1:]:
        errs.forbidden(child(path, json_name), "may not specify more than 1 handler type")
    if handler.HasField("exec") and not handler.exec.command:
        errs.required(child(child(path, "exec"), "command"))
    if handler.HasField("http_get"):
        hpath = child(path, "httpGet")
        get = handler.http_get
        port_or_name(errs, get.port, child(hpath, "port"))
        errs.enum(child(hpath, "scheme"), get.scheme, ("HTTP", "HTTPS"), required=False)
        for i, h in enumerate(get.http_headers):
            if not h.name:
                errs.required(child(index(child(hpath, "httpHeaders"), i), "name"))
    if handler.HasField("tcp_socket"):
        port_or_name(errs, handler.tcp_socket.port, child(child(path, "tcpSocket"), "port"))


_PROBE_ACTIONS = (("exec", "exec"), ("http_get", "httpGet"), ("tcp_socket", "tcpSocket"))
_HOOK_ACTIONS = (*_PROBE_ACTIONS, ("sleep", "sleep"))


def _lifecycle(
    errs: Errors, c: core_pb2.Container, path: str, spec: core_pb2.PodSpec, *, init: bool
) -> None:
    if not c.HasField("lifecycle"):
        return
    lpath = child(path, "lifecycle")
    if init and not is_sidecar(c):
        errs.forbidden(lpath, "may not be set for init containers")
        return
    # Kubernetes defaults the pod's grace period to 30 s before it validates.
    grace = (
        spec.termination_grace_period_seconds
        if spec.HasField("termination_grace_period_seconds")
        else 30
    )
    for field, json_name in (("post_start", "postStart"), ("pre_stop", "preStop")):
        if not c.lifecycle.HasField(field):
            continue
        hook: core_pb2.LifecycleHandler = getattr(c.lifecycle, field)
        hpath = child(lpath, json_name)
        _handler(errs, hook, hpath, _HOOK_ACTIONS)
        seconds = hook.sleep.seconds
        if hook.HasField("sleep") and not 0 < seconds <= grace:
            errs.invalid(
                child(child(hpath, "sleep"), "seconds"),
                seconds,
                f"must be greater than 0 and less than terminationGracePeriodSeconds ({grace})",
            )


def _probe(errs: Errors, probe: core_pb2.Probe, path: str, *, once: bool) -> None:
    _handler(errs, probe, path, (*_PROBE_ACTIONS, ("grpc", "grpc")))
    if probe.HasField("grpc"):
        errs.port(child(child(path, "grpc"), "port"), probe.grpc.port)
    for field, json_name in (
        ("initial_delay_seconds", "initialDelaySeconds"),
        ("timeout_seconds", "timeoutSeconds"),
        ("period_seconds", "periodSeconds"),
        ("success_threshold", "successThreshold"),
        ("failure_threshold", "failureThreshold"),
        ("termination_grace_period_seconds", "terminationGracePeriodSeconds"),
    ):
        if probe.HasField(field):
            errs.non_negative(child(path, json_name), getattr(probe, field))
    if once and probe.HasField("success_threshold") and probe.success_threshold != 1:
        errs.invalid(child(path, "successThreshold"), probe.success_threshold, "must be 1")


# ---- volumes ----

_SOURCES = (
    ("empty_dir", "emptyDir"),
    ("host_path", "hostPath"),
    ("config_map", "configMap"),
    ("secret", "secret"),
    ("persistent_volume_claim", "persistentVolumeClaim"),
    ("downward_api", "downwardAPI"),
    ("projected", "projected"),
    ("ephemeral", "ephemeral"),
)


def _volumes(errs: Errors, volumes: Sequence[core_pb2.Volume], path: str) -> set[str]:
    names: set[str] = set()
    for i, v in enumerate(volumes):
        vpath = index(path, i)
        unique_name(errs, child(vpath, "name"), v.name, names, is_dns1123_label)
        given = [(f, j) for f, j in _SOURCES if v.HasField(f)]
        if not given:
            errs.required(vpath, "must specify a volume type")
        for _, json_name in given[1:]:
            errs.forbidden(child(vpath, json_name), "may not specify more than 1 volume type")
        _volume_source(errs, v, vpath)
    return names


def _volume_source(errs: Errors, v: core_pb2.Volume, path: str) -> None:
    if v.HasField("empty_dir"):
        epath = child(path, "emptyDir")
        errs.enum(child(epath, "medium"), v.empty_dir.medium, ("", "Memory"), required=False)
        if v.empty_dir.size_limit:
            quantity(errs, child(epath, "sizeLimit"), v.empty_dir.size_limit)
    if v.HasField("host_path"):
        hpath = child(path, "hostPath")
        if not v.host_path.path:
            errs.required(child(hpath, "path"))
        elif ".." in v.host_path.path.split("/"):
            errs.invalid(child(hpath, "path"), v.host_path.path, "must not contain '..'")
        if v.host_path.type not in HOST_PATH_TYPES:
            errs.unsupported(child(hpath, "type"), v.host_path.type, HOST_PATH_TYPES)
    if v.HasField("downward_api"):
        downward_api_volume(errs, v.downward_api, child(path, "downwardAPI"))
    if v.HasField("projected"):
        projected_volume(errs, v.projected, child(path, "projected"))
    if v.HasField("persistent_volume_claim"):
        claim = v.persistent_volume_claim.claim_name
        cpath = child(child(path, "persistentVolumeClaim"), "claimName")
        errs.syntax(cpath, claim, is_dns1123_subdomain)
    if v.HasField("ephemeral"):
        validate_ephemeral_volume(errs, v.ephemeral, child(path, "ephemeral"))
    for field, json_name, name_field, name_json in (
        ("config_map", "configMap", "name", "name"),
        ("secret", "secret", "secret_name", "secretName"),
    ):
        if not v.HasField(field):
            continue
        src = getattr(v, field)
        spath = child(path, json_name)
        name = getattr(src, name_field)
        errs.syntax(child(spath, name_json), name, is_dns1123_subdomain)
        if src.HasField("default_mode"):
            file_mode(errs, child(spath, "defaultMode"), src.default_mode)
        for i, item in enumerate(src.items):
            key_to_path(errs, item, index(child(spath, "items"), i))


# ---- scheduling constraints ----


def _toleration(errs: Errors, t: core_pb2.Toleration, path: str) -> None:
    if t.key:
        errs.invalid_each(child(path, "key"), t.key, is_qualified_name(t.key))
    elif t.operator != "Exists":
        errs.invalid(
            child(path, "operator"),
            t.operator,
            'operator must be Exists when `key` is empty, which means "match all values and '
            'all keys"',
        )
    if t.operator == "Exists" and t.value:
        errs.invalid(
            child(path, "operator"), t.value, "value must be empty when `operator` is 'Exists'"
        )
    elif t.operator in ("", "Equal") and t.value:
        errs.invalid_each(child(path, "value"), t.value, is_valid_label_value(t.value))
    if t.operator and t.operator not in TOLERATION_OPERATORS:
        errs.unsupported(child(path, "operator"), t.operator, TOLERATION_OPERATORS)
    if t.HasField("toleration_seconds") and t.effect != "NoExecute":
        errs.invalid(
            child(path, "effect"),
            t.effect,
            "effect must be 'NoExecute' when `tolerationSeconds` is set",
        )
    errs.enum(child(path, "effect"), t.effect, TAINT_EFFECTS, required=False)


def validate_tolerations(
    errs: Errors, tolerations: Sequence[core_pb2.Toleration], path: str
) -> None:
    """Each toleration of a list at `path` (a RuntimeClass's, which pods are given)."""
    for i, t in enumerate(tolerations):
        _toleration(errs, t, index(path, i))


def _node_requirement(
    errs: Errors, req: core_pb2.NodeSelectorRequirement, path: str, *, field: bool
) -> None:
    if field:
        if req.key != "metadata.name":
            errs.invalid(child(path, "key"), req.key, "not a valid field selector key")
        if req.operator not in ("In", "NotIn"):
            errs.unsupported(child(path, "operator"), req.operator, ("In", "NotIn"))
        elif len(req.values) != 1:
            errs.required(
                child(path, "values"),
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
            )
        return
    errs.invalid_each(child(path, "key"), req.key, is_qualified_name(req.key))
    vpath = child(path, "values")
    if req.operator in ("In", "NotIn"):
        if not req.values:
            errs.required(vpath, "must be specified when `operator` is 'In' or 'NotIn'")
    elif req.operator in ("Exists", "DoesNotExist"):
        if req.values:
            errs.forbidden(
                vpath, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )
    elif req.operator in ("Gt", "Lt"):
        if len(req.values) != 1:
            errs.required(vpath, "must be specified single value when `operator` is 'Lt' or 'Gt'")
        elif not req.values[0].lstrip("-").isdigit():
            errs.invalid(
                index(vpath, 0), req.values[0], "must be an integer when `operator` is 'Lt' or 'Gt'"
            )
    else:
        errs.enum(child(path, "operator"), req.operator, NODE_SELECTOR_OPERATORS, required=True)


def _node_selector_term(errs: Errors, term: core_pb2.NodeSelectorTerm, path: str) -> None:
    for i, req in enumerate(term.match_expressions):
        _node_requirement(errs, req, index(child(path, "matchExpressions"), i), field=False)
    for i, req in enumerate(term.match_fields):
        _node_requirement(errs, req, index(child(path, "matchFields"), i), field=True)


def _weight(errs: Errors, path: str, weight: int) -> None:
    if not 1 <= weight <= 100:
        errs.invalid(path, weight, "must be in the range 1-100")


def _pod_affinity_term(errs: Errors, term: core_pb2.PodAffinityTerm, path: str) -> None:
    errs.syntax(
        child(path, "topologyKey"), term.topology_key, is_qualified_name, detail="can not be empty"
    )
    if term.HasField("label_selector"):
        validate_label_selector(errs, term.label_selector, child(path, "labelSelector"))
    if term.HasField("namespace_selector"):
        validate_label_selector(errs, term.namespace_selector, child(path, "namespaceSelector"))
    for i, ns in enumerate(term.namespaces):
        errs.invalid_each(index(child(path, "namespaces"), i), ns, is_dns1123_label(ns))


_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


def _affinity(errs: Errors, a: core_pb2.Affinity, path: str) -> None:
    if a.HasField("node_affinity"):
        napath = child(path, "nodeAffinity")
        na = a.node_affinity
        if na.HasField("required_during_scheduling_ignored_during_execution"):
            rpath = child(child(napath, _REQUIRED), "nodeSelectorTerms")
            terms = na.required_during_scheduling_ignored_during_execution.node_selector_terms
            if not terms:
                errs.required(rpath, "must have at least one node selector term")
            for i, term in enumerate(terms):
                _node_selector_term(errs, term, index(rpath, i))
        for i, pref in enumerate(na.preferred_during_scheduling_ignored_during_execution):
            ppath = index(child(napath, _PREFERRED), i)
            _weight(errs, child(ppath, "weight"), pref.weight)
            _node_selector_term(errs, pref.preference, child(ppath, "preference"))
    for field, json_name in (
        ("pod_affinity", "podAffinity"),
        ("pod_anti_affinity", "podAntiAffinity"),
    ):
        if not a.HasField(field):
            continue
        pa = getattr(a, field)
        papath = child(path, json_name)
        for i, term in enumerate(pa.required_during_scheduling_ignored_during_execution):
            _pod_affinity_term(errs, term, index(child(papath, _REQUIRED), i))
        for i, w in enumerate(pa.preferred_during_scheduling_ignored_during_execution):
            wpath = index(child(papath, _PREFERRED), i)
            _weight(errs, child(wpath, "weight"), w.weight)
            _pod_affinity_term(errs, w.pod_affinity_term, child(wpath, "podAffinityTerm"))


def _spread(errs: Errors, c: core_pb2.TopologySpreadConstraint, path: str) -> None:
    if c.max_skew <= 0:
        errs.invalid(child(path, "maxSkew"), c.max_skew, "must be greater than zero")
    errs.syntax(
        child(path, "topologyKey"), c.topology_key, is_qualified_name, detail="can not be empty"
    )
    errs.enum(
        child(path, "whenUnsatisfiable"),
        c.when_unsatisfiable,
        ("DoNotSchedule", "ScheduleAnyway"),
        required=True,
    )
    if c.HasField("min_domains"):
        if c.min_domains <= 0:
            errs.invalid(child(path, "minDomains"), c.min_domains, "must be greater than 0")
        elif c.when_unsatisfiable != "DoNotSchedule":
            errs.invalid(
                child(path, "minDomains"),
                c.min_domains,
                "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not "
                f"{c.when_unsatisfiable}",
            )
    if c.HasField("label_selector"):
        validate_label_selector(errs, c.label_selector, child(path, "labelSelector"))


# ---- updates ----

POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def validate_pod_update(errs: Errors, new: core_pb2.Pod, old: core_pb2.Pod) -> None:
    """Only images, activeDeadlineSeconds, added tolerations and a first nodeName may change."""
    ns, os_ = new.spec, old.spec
    if os_.node_name and ns.node_name != os_.node_name:
        errs.invalid(
            "spec.nodeName", ns.node_name, "field is immutable once the pod is bound to a node"
        )
    if os_.HasField("active_deadline_seconds"):
        if not ns.HasField("active_deadline_seconds"):
            errs.invalid(
                "spec.activeDeadlineSeconds",
                None,
                "must not update from a positive integer to nil value",
            )
        elif ns.active_deadline_seconds > os_.active_deadline_seconds:
            errs.invalid(
                "spec.activeDeadlineSeconds",
                ns.active_deadline_seconds,
                "must be less than or equal to previous value",
            )
    old_tolerations = [t.SerializeToString(deterministic=True) for t in os_.tolerations]
    new_tolerations = [t.SerializeToString(deterministic=True) for t in ns.tolerations]
    if any(t not in new_tolerations for t in old_tolerations):
        errs.forbidden(
            "spec.tolerations",
            "existing toleration can not be modified except its tolerationSeconds",
        )
    old_gates = {g.name for g in os_.scheduling_gates}
    for gate in ns.scheduling_gates:
        if gate.name not in old_gates:
            errs.forbidden(
                "spec.schedulingGates",
                f"only deletion is allowed, but found new scheduling gate '{gate.name}'",
            )
    # Compare what is left once the fields that may change are made equal.
    a, b = core_pb2.PodSpec(), core_pb2.PodSpec()
    a.CopyFrom(ns)
    b.CopyFrom(os_)
    for spec in (a, b):
        spec.ClearField("active_deadline_seconds")
        spec.ClearField("tolerations")
        spec.ClearField("node_name")
        spec.ClearField("scheduling_gates")
        spec.ClearField("ephemeral_containers")  # only added, checked by ephemeral.py
        for c in [*spec.containers, *spec.init_containers]:
            c.ClearField("image")
    if a.SerializeToString(deterministic=True) != b.SerializeToString(deterministic=True):
        errs.forbidden("spec", POD_UPDATE_FORBIDDEN)
