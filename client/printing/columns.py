"""The columns `tug get` prints for each kind: kubectl's headers, in kubectl's order.

One function per kind turns an object into its cells; `-o wide` adds the extra cells
each kind defines. Kinds without a special table get NAME and AGE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from client.kinds import Object
from client.printing.age import age, human_duration, since
from client.printing.autoscaling import hpa_row
from client.printing.podstatus import summarize
from client.selectors import format_labels, format_selector
from client.storage import is_default_class
from proto import (
    certificates_pb2,
    core_pb2,
    discovery_pb2,
    flowcontrol_pb2,
    networking_pb2,
    node_pb2,
    policy_pb2,
    storage_pb2,
    workloads_pb2,
)

NONE = "<none>"

Row = Callable[[Any, datetime], list[str]]


@dataclass(frozen=True)
class Columns:
    """The headers and cells of one kind's table (NAME is always first, added by the caller)."""

    headers: tuple[str, ...]
    row: Row
    wide_headers: tuple[str, ...] = ()
    wide_row: Row | None = None
    wide_replaces: bool = False
    """With -o wide, the wide columns are the whole table (a CRD's printer columns, whose
    wide ones sit among the others as declared) rather than added after it."""
    order: Callable[[Any], Any] | None = None
    """The key of the rows' order where Kubernetes' printer sorts them; None: as listed."""


def _labels(labels: Mapping[str, str]) -> str:
    return format_labels(labels) or NONE


def selector_text(selector: Any) -> str:
    """A selector in kubectl's string syntax, "<none>" when it selects by nothing."""
    return format_selector(selector) or NONE


def _containers_images(spec: core_pb2.PodSpec) -> list[str]:
    return [
        ",".join(c.name for c in spec.containers) or NONE,
        ",".join(c.image for c in spec.containers) or NONE,
    ]


def _pod(pod: core_pb2.Pod, at: datetime) -> list[str]:
    s = summarize(pod, at)
    return [s.ready, s.status, s.restarts, age(pod.metadata.creation_timestamp, at)]


def _pod_wide(pod: core_pb2.Pod, at: datetime) -> list[str]:
    return [
        pod.status.pod_ip or NONE,
        pod.spec.node_name or NONE,
        pod.status.nominated_node_name or NONE,
        _readiness_gates(pod),
    ]


def _readiness_gates(pod: core_pb2.Pod) -> str:
    """kubectl's READINESS GATES: how many of the gates' conditions are True, of how many."""
    gates = pod.spec.readiness_gates
    if not gates:
        return NONE
    # The first condition of a type counts, as kubectl reads it.
    status: dict[str, str] = {}
    for c in pod.status.conditions:
        status.setdefault(c.type, c.status)
    opened = sum(status.get(g.condition_type) == "True" for g in gates)
    return f"{opened}/{len(gates)}"


def _deployment(d: workloads_pb2.Deployment, at: datetime) -> list[str]:
    desired = d.spec.replicas if d.spec.HasField("replicas") else 1
    return [
        f"{d.status.ready_replicas}/{desired}",
        str(d.status.updated_replicas),
        str(d.status.available_replicas),
        age(d.metadata.creation_timestamp, at),
    ]


def _workload_wide(obj: Any, at: datetime) -> list[str]:
    return [*_containers_images(obj.spec.template.spec), selector_text(obj.spec.selector)]


def _replicaset(
    rs: workloads_pb2.ReplicaSet | workloads_pb2.ReplicationController, at: datetime
) -> list[str]:
    desired = rs.spec.replicas if rs.spec.HasField("replicas") else 1
    return [
        str(desired),
        str(rs.status.replicas),
        str(rs.status.ready_replicas),
        age(rs.metadata.creation_timestamp, at),
    ]


def _daemonset(ds: workloads_pb2.DaemonSet, at: datetime) -> list[str]:
    st = ds.status
    return [
        str(st.desired_number_scheduled),
        str(st.current_number_scheduled),
        str(st.number_ready),
        str(st.updated_number_scheduled),
        str(st.number_available),
        _labels(ds.spec.template.spec.node_selector),
        age(ds.metadata.creation_timestamp, at),
    ]


def _job(job: workloads_pb2.Job, at: datetime) -> list[str]:
    spec, st = job.spec, job.status
    if spec.HasField("completions"):
        completions = f"{st.succeeded}/{spec.completions}"
    elif spec.HasField("parallelism") and spec.parallelism > 1:
        completions = f"{st.succeeded}/1 of {spec.parallelism}"
    else:
        completions = f"{st.succeeded}/1"
    return [
        completions,
        since(st.start_time, st.completion_time, at),
        age(job.metadata.creation_timestamp, at),
    ]


def _stateful_set(sts: workloads_pb2.StatefulSet, at: datetime) -> list[str]:
    desired = sts.spec.replicas if sts.spec.HasField("replicas") else 1
    return [f"{sts.status.ready_replicas}/{desired}", age(sts.metadata.creation_timestamp, at)]


def _stateful_set_wide(sts: workloads_pb2.StatefulSet, at: datetime) -> list[str]:
    return _containers_images(sts.spec.template.spec)


def _controller_revision(rev: workloads_pb2.ControllerRevision, at: datetime) -> list[str]:
    owner = next((r for r in rev.metadata.owner_references if r.controller), None)
    group = owner.api_version.rpartition("/")[0] if owner else ""
    controller = f"{owner.kind.lower()}.{group}/{owner.name}" if owner else NONE
    return [controller, str(rev.revision), age(rev.metadata.creation_timestamp, at)]


def _cron_job(cj: workloads_pb2.CronJob, at: datetime) -> list[str]:
    spec, st = cj.spec, cj.status
    return [
        spec.schedule,
        spec.time_zone if spec.HasField("time_zone") else NONE,
        "True" if spec.suspend else "False",
        str(len(st.active)),
        age(st.last_schedule_time, at) if st.last_schedule_time else NONE,
        age(cj.metadata.creation_timestamp, at),
    ]


def _cron_job_wide(cj: workloads_pb2.CronJob, at: datetime) -> list[str]:
    job = cj.spec.job_template.spec
    selector = selector_text(job.selector) if job.HasField("selector") else NONE
    return [*_containers_images(job.template.spec), selector]


def service_ports(svc: core_pb2.Service) -> str:
    """kubectl's PORT(S) cell: `80/TCP`, `80:30080/TCP`, comma-separated."""
    parts = []
    for p in svc.spec.ports:
        proto = p.protocol or "TCP"
        parts.append(f"{p.port}:{p.node_port}/{proto}" if p.node_port else f"{p.port}/{proto}")
    return ",".join(parts) or NONE


def _external_ip(svc: core_pb2.Service) -> str:
    if svc.spec.type == "ExternalName":
        return svc.spec.external_name
    ips = list(svc.spec.external_ips)
    if svc.spec.type == "LoadBalancer":
        ingress = [i.ip or i.hostname for i in svc.status.load_balancer.ingress]
        ips = ingress + ips
        return ",".join(ips) if ips else "<pending>"
    return ",".join(ips) or NONE


def _service(svc: core_pb2.Service, at: datetime) -> list[str]:
    return [
        svc.spec.type or "ClusterIP",
        svc.spec.cluster_ip or NONE,
        _external_ip(svc),
        service_ports(svc),
        age(svc.metadata.creation_timestamp, at),
    ]


def _service_wide(svc: core_pb2.Service, at: datetime) -> list[str]:
    return [_labels(svc.spec.selector)]


def endpoints_text(ep: core_pb2.Endpoints, limit: int = 3) -> str:
    """kubectl's ENDPOINTS cell: `10.0.0.1:80,10.0.0.2:80 + 2 more...`."""
    pairs: list[str] = []
    for subset in ep.subsets:
        for addr in subset.addresses:
            if subset.ports:
                pairs.extend(f"{addr.ip}:{p.port}" for p in subset.ports)
            else:
                pairs.append(addr.ip)
    if not pairs:
        return NONE
    text = ",".join(pairs[:limit])
    if len(pairs) > limit:
        text += f" + {len(pairs) - limit} more..."
    return text


def _endpoints(ep: core_pb2.Endpoints, at: datetime) -> list[str]:
    return [endpoints_text(ep), age(ep.metadata.creation_timestamp, at)]


def _endpoint_slice(slice_: discovery_pb2.EndpointSlice, at: datetime) -> list[str]:
    """kubectl's ADDRESSTYPE, PORTS and ENDPOINTS cells: `<unset>` where there are none,
    the first three addresses then `+ N more...`."""
    ports = ",".join(str(p.port) for p in slice_.ports if p.HasField("port")) or "<unset>"
    addresses = [a for ep in slice_.endpoints for a in ep.addresses]
    text = ",".join(addresses[:3]) or "<unset>"
    if len(addresses) > 3:
        text += f" + {len(addresses) - 3} more..."
    return [slice_.address_type, ports, text, age(slice_.metadata.creation_timestamp, at)]


def _budget(pdb: policy_pb2.PodDisruptionBudget, at: datetime) -> list[str]:
    """kubectl's MIN AVAILABLE, MAX UNAVAILABLE (`N/A` when unset), ALLOWED DISRUPTIONS."""

    def given(field: str) -> str:
        if not pdb.spec.HasField(field):
            return "N/A"
        value = getattr(pdb.spec, field)
        return value.str_val if value.WhichOneof("value") == "str_val" else str(value.int_val)

    return [
        given("min_available"),
        given("max_unavailable"),
        str(pdb.status.disruptions_allowed),
        age(pdb.metadata.creation_timestamp, at),
    ]


def node_status(node: core_pb2.Node) -> str:
    """`Ready`, `NotReady` or `Unknown`, with `,SchedulingDisabled` when cordoned."""
    status = "Unknown"
    for c in node.status.conditions:
        if c.type == "Ready":
            status = {"True": "Ready", "False": "NotReady"}.get(c.status, "Unknown")
    if node.spec.unschedulable:
        status += ",SchedulingDisabled"
    return status


def node_roles(node: core_pb2.Node) -> str:
    """Roles from `node-role.kubernetes.io/<role>` labels, as kubectl shows them."""
    roles = set()
    for key, value in node.metadata.labels.items():
        if key.startswith("node-role.kubernetes.io/"):
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(r for r in roles if r)) or NONE


def _node(node: core_pb2.Node, at: datetime) -> list[str]:
    return [
        node_status(node),
        node_roles(node),
        age(node.metadata.creation_timestamp, at),
        node.status.node_info.kubelet_version or "",
    ]


def _node_wide(node: core_pb2.Node, at: datetime) -> list[str]:
    def address(kind: str) -> str:
        return next((a.address for a in node.status.addresses if a.type == kind), NONE)

    info = node.status.node_info
    return [
        address("InternalIP"),
        address("ExternalIP"),
        info.os_image or "<unknown>",
        info.kernel_version or "<unknown>",
        info.container_runtime_version or "<unknown>",
    ]


def _namespace(ns: core_pb2.Namespace, at: datetime) -> list[str]:
    return [ns.status.phase or "Active", age(ns.metadata.creation_timestamp, at)]


def _configmap(cm: core_pb2.ConfigMap, at: datetime) -> list[str]:
    return [str(len(cm.data) + len(cm.binary_data)), age(cm.metadata.creation_timestamp, at)]


def _quota(q: policy_pb2.ResourceQuota, at: datetime) -> list[str]:
    """kubectl's REQUEST and LIMIT: `used/hard` of each resource, limits.* apart."""

    def pairs(limits: bool) -> str:
        return ", ".join(
            f"{name}: {q.status.used.get(name, '0')}/{hard}"
            for name, hard in sorted(q.spec.hard.items())
            if name.startswith("limits.") == limits
        )

    return [age(q.metadata.creation_timestamp, at), pairs(False), pairs(True)]


def _serviceaccount(sa: policy_pb2.ServiceAccount, at: datetime) -> list[str]:
    return [str(len(sa.secrets)), age(sa.metadata.creation_timestamp, at)]


def _limitrange(lr: policy_pb2.LimitRange, at: datetime) -> list[str]:
    return [lr.metadata.creation_timestamp]


def _secret(s: core_pb2.Secret, at: datetime) -> list[str]:
    return [s.type or "Opaque", str(len(s.data)), age(s.metadata.creation_timestamp, at)]


def event_object(ev: core_pb2.Event) -> str:
    """kubectl's OBJECT cell of an event: `pod/web-1`."""
    return f"{ev.involved_object.kind.lower()}/{ev.involved_object.name}"


def event_last_seen(ev: core_pb2.Event, at: datetime) -> str:
    """The age of an event's last occurrence."""
    stamp = ev.last_timestamp or ev.first_timestamp or ev.metadata.creation_timestamp
    return age(stamp, at)


def _event(ev: core_pb2.Event, at: datetime) -> list[str]:
    return [event_last_seen(ev, at), ev.type, ev.reason, event_object(ev), ev.message]


def _lease(lease: workloads_pb2.Lease, at: datetime) -> list[str]:
    return [lease.spec.holder_identity or "", age(lease.metadata.creation_timestamp, at)]


def _priorityclass(pc: workloads_pb2.PriorityClass, at: datetime) -> list[str]:
    return [
        str(pc.value),
        "true" if pc.global_default else "false",
        age(pc.metadata.creation_timestamp, at),
    ]


def _runtime_class(rc: node_pb2.RuntimeClass, at: datetime) -> list[str]:
    return [rc.handler, age(rc.metadata.creation_timestamp, at)]


def _component_status(cs: core_pb2.ComponentStatus, _at: datetime) -> list[str]:
    # kube-apiserver's printer: the Healthy condition's; anything but True is Unhealthy,
    # and no such condition is Unknown.
    for c in cs.conditions:
        if c.type == "Healthy":
            return ["Healthy" if c.status == "True" else "Unhealthy", c.message, c.error]
    return ["Unknown", "", ""]


def _flow_schema(fs: flowcontrol_pb2.FlowSchema, at: datetime) -> list[str]:
    # MISSINGPL is the Dangling condition's status: whether the named level is missing,
    # "?" until the API server has said.
    dangling = next((c.status for c in fs.status.conditions if c.type == "Dangling"), "?")
    spec = fs.spec
    return [
        spec.priority_level_configuration.name,
        str(spec.matching_precedence),
        spec.distinguisher_method.type if spec.HasField("distinguisher_method") else NONE,
        age(fs.metadata.creation_timestamp, at),
        dangling,
    ]


def _priority_level(pl: flowcontrol_pb2.PriorityLevelConfiguration, at: datetime) -> list[str]:
    # As kube-apiserver's printer: shares only for a Limited member, queue figures only
    # when it queues; an Exempt level shows <none> for all four.
    shares = queues = hand = length = NONE
    if pl.spec.HasField("limited"):
        limited = pl.spec.limited
        shares = str(limited.nominal_concurrency_shares)
        if limited.limit_response.HasField("queuing"):
            q = limited.limit_response.queuing
            queues, hand, length = str(q.queues), str(q.hand_size), str(q.queue_length_limit)
    return [pl.spec.type, shares, queues, hand, length, age(pl.metadata.creation_timestamp, at)]


_LOAD_BALANCER_WIDTH = 16
"""kubectl clips an Ingress' ADDRESS to this many characters (not with -o wide)."""


def _ingress(ing: networking_pb2.Ingress, at: datetime) -> list[str]:
    spec = ing.spec
    # kubectl's formatHosts: at most three hosts, "+ N more..." counting rules.
    hosts: list[str] = []
    more = False
    for r in spec.rules:
        more = more or len(hosts) == 3
        if not more and r.host:
            hosts.append(r.host)
    host_text = ",".join(hosts) or "*"
    if more:
        host_text = f"{host_text} + {len(spec.rules) - 3} more..."
    points = {i.ip or i.hostname for i in ing.status.load_balancer.ingress if i.ip or i.hostname}
    address = ",".join(sorted(points))
    if len(address) > _LOAD_BALANCER_WIDTH:
        address = address[: _LOAD_BALANCER_WIDTH - 3] + "..."
    return [
        spec.ingress_class_name if spec.HasField("ingress_class_name") else NONE,
        host_text,
        address,
        "80, 443" if spec.tls else "80",
        age(ing.metadata.creation_timestamp, at),
    ]


def _network_policy(np: networking_pb2.NetworkPolicy, at: datetime) -> list[str]:
    return [selector_text(np.spec.pod_selector), age(np.metadata.creation_timestamp, at)]


def _admission_policy(p: Any, at: datetime) -> list[str]:
    kind = p.spec.param_kind
    param = f"{kind.api_version}/{kind.kind}" if p.spec.HasField("param_kind") else NONE
    return [str(len(p.spec.validations)), param, age(p.metadata.creation_timestamp, at)]


def _webhooks(c: Any, at: datetime) -> list[str]:
    return [str(len(c.webhooks)), age(c.metadata.creation_timestamp, at)]


def _admission_binding(b: Any, at: datetime) -> list[str]:
    ref = b.spec.param_ref
    param = f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name or "*"
    shown = param if b.spec.HasField("param_ref") else NONE
    return [b.spec.policy_name, shown, age(b.metadata.creation_timestamp, at)]


def _ingress_class(ic: networking_pb2.IngressClass, at: datetime) -> list[str]:
    params = NONE
    if ic.spec.HasField("parameters"):
        p = ic.spec.parameters
        group = f".{p.api_group}" if p.HasField("api_group") else ""
        params = f"{p.kind}{group}/{p.name}"
    return [ic.spec.controller, params, age(ic.metadata.creation_timestamp, at)]


_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)
_UNSET = "<unset>"


def access_modes_text(modes: Any) -> str:
    """kubectl's GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order."""
    given = set(modes)
    return ",".join(short for mode, short in _ACCESS_MODES if mode in given)


def _volume(pv: core_pb2.PersistentVolume, at: datetime) -> list[str]:
    spec, meta = pv.spec, pv.metadata
    claim = ""
    if spec.HasField("claim_ref"):
        claim = f"{spec.claim_ref.namespace}/{spec.claim_ref.name}"
    return [
        spec.capacity.get("storage", ""),
        access_modes_text(spec.access_modes),
        spec.persistent_volume_reclaim_policy,
        "Terminating" if meta.deletion_timestamp else pv.status.phase,
        claim,
        spec.storage_class_name,
        _UNSET,
        pv.status.reason,
        age(meta.creation_timestamp, at),
    ]


def _volume_wide(pv: core_pb2.PersistentVolume, at: datetime) -> list[str]:
    return [pv.spec.volume_mode if pv.spec.HasField("volume_mode") else _UNSET]


def _claim(pvc: core_pb2.PersistentVolumeClaim, at: datetime) -> list[str]:
    spec, meta = pvc.spec, pvc.metadata
    capacity = modes = ""
    if spec.volume_name:
        capacity = pvc.status.capacity.get("storage", "")
        modes = access_modes_text(pvc.status.access_modes)
    return [
        "Terminating" if meta.deletion_timestamp else pvc.status.phase,
        spec.volume_name,
        capacity,
        modes,
        spec.storage_class_name,
        _UNSET,
        age(meta.creation_timestamp, at),
    ]


def _claim_wide(pvc: core_pb2.PersistentVolumeClaim, at: datetime) -> list[str]:
    return [pvc.spec.volume_mode if pvc.spec.HasField("volume_mode") else _UNSET]


def _storage_class(sc: storage_pb2.StorageClass, at: datetime) -> list[str]:
    return [
        sc.provisioner,
        sc.reclaim_policy if sc.HasField("reclaim_policy") else "Delete",
        sc.volume_binding_mode if sc.HasField("volume_binding_mode") else "Immediate",
        "true" if sc.allow_volume_expansion else "false",
        age(sc.metadata.creation_timestamp, at),
    ]


def _csr_condition(csr: certificates_pb2.CertificateSigningRequest) -> str:
    """kubectl's CONDITION cell: Denied over Approved over Pending, then `,Failed` and
    `,Issued` (`Approved,Issued`)."""
    types = {c.type for c in csr.status.conditions}
    shown = next((t for t in ("Denied", "Approved") if t in types), "Pending")
    if "Failed" in types:
        shown += ",Failed"
    if csr.status.certificate:
        shown += ",Issued"
    return shown


def _csr(csr: certificates_pb2.CertificateSigningRequest, at: datetime) -> list[str]:
    spec = csr.spec
    duration = spec.HasField("expiration_seconds")
    return [
        age(csr.metadata.creation_timestamp, at),
        spec.signer_name or NONE,
        spec.username,
        human_duration(spec.expiration_seconds) if duration else NONE,
        _csr_condition(csr),
    ]


def _generic(obj: Any, at: datetime) -> list[str]:
    return [age(obj.metadata.creation_timestamp, at)]


_WORKLOAD_WIDE = ("CONTAINERS", "IMAGES", "SELECTOR")

TABLES: dict[str, Columns] = {
    "pods": Columns(
        ("READY", "STATUS", "RESTARTS", "AGE"),
        _pod,
        ("IP", "NODE", "NOMINATED NODE", "READINESS GATES"),
        _pod_wide,
    ),
    "deployments": Columns(
        ("READY", "UP-TO-DATE", "AVAILABLE", "AGE"), _deployment, _WORKLOAD_WIDE, _workload_wide
    ),
    "replicasets": Columns(
        ("DESIRED", "CURRENT", "READY", "AGE"), _replicaset, _WORKLOAD_WIDE, _workload_wide
    ),
    "replicationcontrollers": Columns(
        ("DESIRED", "CURRENT", "READY", "AGE"), _replicaset, _WORKLOAD_WIDE, _workload_wide
    ),
    "daemonsets": Columns(
        ("DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"),
        _daemonset,
        _WORKLOAD_WIDE,
        _workload_wide,
    ),
    "jobs": Columns(("COMPLETIONS", "DURATION", "AGE"), _job, _WORKLOAD_WIDE, _workload_wide),
    "statefulsets": Columns(
        ("READY", "AGE"), _stateful_set, ("CONTAINERS", "IMAGES"), _stateful_set_wide
    ),
    "controllerrevisions": Columns(("CONTROLLER", "REVISION", "AGE"), _controller_revision),
    "cronjobs": Columns(
        ("SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"),
        _cron_job,
        _WORKLOAD_WIDE,
        _cron_job_wide,
    ),
    "horizontalpodautoscalers": Columns(
        ("REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"), hpa_row
    ),
    "services": Columns(
        ("TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"),
        _service,
        ("SELECTOR",),
        _service_wide,
    ),
    "endpoints": Columns(("ENDPOINTS", "AGE"), _endpoints),
    "endpointslices": Columns(("ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"), _endpoint_slice),
    "poddisruptionbudgets": Columns(
        ("MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"), _budget
    ),
    "ingresses": Columns(("CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"), _ingress),
    "ingressclasses": Columns(("CONTROLLER", "PARAMETERS", "AGE"), _ingress_class),
    "networkpolicies": Columns(("POD-SELECTOR", "AGE"), _network_policy),
    "validatingadmissionpolicies": Columns(("VALIDATIONS", "PARAMKIND", "AGE"), _admission_policy),
    "validatingadmissionpolicybindings": Columns(
        ("POLICYNAME", "PARAMREF", "AGE"), _admission_binding
    ),
    "validatingwebhookconfigurations": Columns(("WEBHOOKS", "AGE"), _webhooks),
    "mutatingwebhookconfigurations": Columns(("WEBHOOKS", "AGE"), _webhooks),
    "nodes": Columns(
        ("STATUS", "ROLES", "AGE", "VERSION"),
        _node,
        ("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
        _node_wide,
    ),
    "namespaces": Columns(("STATUS", "AGE"), _namespace),
    "configmaps": Columns(("DATA", "AGE"), _configmap),
    "secrets": Columns(("TYPE", "DATA", "AGE"), _secret),
    "resourcequotas": Columns(("AGE", "REQUEST", "LIMIT"), _quota),
    "serviceaccounts": Columns(("SECRETS", "AGE"), _serviceaccount),
    "limitranges": Columns(("CREATED AT",), _limitrange),
    "leases": Columns(("HOLDER", "AGE"), _lease),
    "priorityclasses": Columns(("VALUE", "GLOBAL-DEFAULT", "AGE"), _priorityclass),
    "runtimeclasses": Columns(("HANDLER", "AGE"), _runtime_class),
    "componentstatuses": Columns(("STATUS", "MESSAGE", "ERROR"), _component_status),
    "flowschemas": Columns(
        ("PRIORITYLEVEL", "MATCHINGPRECEDENCE", "DISTINGUISHERMETHOD", "AGE", "MISSINGPL"),
        _flow_schema,
        # In the order they are matched, as kube-apiserver's printer lists them.
        order=lambda fs: (fs.spec.matching_precedence, fs.metadata.name),
    ),
    "prioritylevelconfigurations": Columns(
        ("TYPE", "NOMINALCONCURRENCYSHARES", "QUEUES", "HANDSIZE", "QUEUELENGTHLIMIT", "AGE"),
        _priority_level,
    ),
    "persistentvolumes": Columns(
        (
            "CAPACITY",
            "ACCESS MODES",
            "RECLAIM POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "REASON",
            "AGE",
        ),
        _volume,
        ("VOLUMEMODE",),
        _volume_wide,
    ),
    "persistentvolumeclaims": Columns(
        (
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE",
        ),
        _claim,
        ("VOLUMEMODE",),
        _claim_wide,
    ),
    "customresourcedefinitions": Columns(("CREATED AT",), _limitrange),
    "certificatesigningrequests": Columns(
        ("AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"), _csr
    ),
    "storageclasses": Columns(
        ("PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"),
        _storage_class,
    ),
}

EVENT_HEADERS = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
"""Events have no NAME column in kubectl's table."""


DYNAMIC_TABLES: dict[str, Columns] = {}
"""The tables of custom resources, from their CRDs' printer columns (client/customkinds.py)."""


def columns_for(resource: str) -> Columns:
    """The table of a resource; NAME and AGE for kinds without their own."""
    found = TABLES.get(resource) or DYNAMIC_TABLES.get(resource)
    return found or Columns(("AGE",), _generic)


def ordered(resource: str, objects: Iterable[Any]) -> list[Any]:
    """The objects in the order of their table's rows."""
    key = columns_for(resource).order
    return sorted(objects, key=key) if key is not None else list(objects)


def header(resource: str, *, wide: bool, all_namespaces: bool) -> list[str]:
    """The header line of a resource's table."""
    prefix = ["NAMESPACE"] if all_namespaces else []
    if resource == "events":
        return [*prefix, *EVENT_HEADERS]
    cols = columns_for(resource)
    if wide and cols.wide_replaces:
        return [*prefix, "NAME", *cols.wide_headers]
    extra = list(cols.wide_headers) if wide else []
    return [*prefix, "NAME", *cols.headers, *extra]


def row(
    resource: str,
    obj: Object,
    at: datetime,
    *,
    wide: bool,
    all_namespaces: bool,
    name: str | None = None,
) -> list[str]:
    """The cells of one object; `name` replaces the NAME cell (`deployment.apps/web`)."""
    prefix = [obj.metadata.namespace] if all_namespaces else []
    if resource == "events":
        return [*prefix, *_event(obj, at)]  # type: ignore[arg-type]
    cols = columns_for(resource)
    shown = name or obj.metadata.name
    if isinstance(obj, storage_pb2.StorageClass) and is_default_class(obj):
        shown += " (default)"  # as kubectl marks the default class
    if wide and cols.wide_replaces and cols.wide_row is not None:
        return [*prefix, shown, *cols.wide_row(obj, at)]
    cells = [*prefix, shown, *cols.row(obj, at)]
    if wide and cols.wide_row is not None:
        cells.extend(cols.wide_row(obj, at))
    return cells


def labels_cell(obj: Object) -> str:
    """kubectl's LABELS cell (`--show-labels`): `k=v,k2=v2` or `<none>`."""
    return _labels(obj.metadata.labels)
