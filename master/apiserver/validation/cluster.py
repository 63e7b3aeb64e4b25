"""Validation of the smaller kinds: Node, ConfigMap, Secret, Event, Lease, PriorityClass."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence

from client.names import is_config_map_key, is_qualified_name, is_valid_label_value
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import TAINT_EFFECTS, quantity, validate_ip
from proto import core_pb2, meta_pb2, workloads_pb2

DATA_MAX_BYTES = 1024 * 1024
"""A ConfigMap's or Secret's data, all keys together (Kubernetes' MaxSecretSize)."""
NODE_ADDRESS_TYPES = ("Hostname", "InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS")
CONDITION_STATUSES = ("True", "False", "Unknown")
HIGHEST_USER_PRIORITY = 1_000_000_000
SYSTEM_PRIORITY_CLASSES = {
    "system-cluster-critical": 2_000_000_000,
    "system-node-critical": 2_000_001_000,
}


def validate_node(errs: Errors, node: core_pb2.Node) -> None:
    """podCIDR, taints (unique by key and effect), capacity, addresses and conditions."""
    spec, status = node.spec, node.status
    if spec.pod_cidr:
        try:
            ipaddress.ip_network(spec.pod_cidr, strict=False)
        except ValueError:
            errs.invalid(
                "spec.podCIDR",
                spec.pod_cidr,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            )
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(spec.taints):
        tpath = index("spec.taints", i)
        errs.syntax(child(tpath, "key"), t.key, is_qualified_name)
        if t.value:
            errs.invalid_each(child(tpath, "value"), t.value, is_valid_label_value(t.value))
        errs.enum(child(tpath, "effect"), t.effect, TAINT_EFFECTS, required=True)
        if (t.key, t.effect) in seen:
            errs.add(
                tpath,
                f'Duplicate value: "{t.key}:{t.effect}": '
                "taints must be unique by key and effect pair",
            )
        seen.add((t.key, t.effect))
    for field, json_name in (("capacity", "capacity"), ("allocatable", "allocatable")):
        amounts: Mapping[str, str] = getattr(status, field)
        for name in sorted(amounts):
            quantity(errs, index(f"status.{json_name}", name), amounts[name])
    for i, addr in enumerate(status.addresses):
        apath = index("status.addresses", i)
        errs.enum(child(apath, "type"), addr.type, NODE_ADDRESS_TYPES, required=True)
        if not addr.address:
            errs.required(child(apath, "address"))
        elif addr.type in ("InternalIP", "ExternalIP"):
            validate_ip(errs, child(apath, "address"), addr.address)
    _conditions(errs, status.conditions, "status.conditions")
    if status.daemon_endpoints.kubelet_endpoint.port:
        errs.port(
            "status.daemonEndpoints.kubeletEndpoint.Port",
            status.daemon_endpoints.kubelet_endpoint.port,
        )


def _conditions(errs: Errors, conditions: Sequence[meta_pb2.Condition], path: str) -> None:
    types: set[str] = set()
    for i, c in enumerate(conditions):
        cpath = index(path, i)
        if not c.type:
            errs.required(child(cpath, "type"))
        elif c.type in types:
            errs.duplicate(child(cpath, "type"), c.type)
        types.add(c.type)
        errs.enum(child(cpath, "status"), c.status, CONDITION_STATUSES, required=True)


def _keys(errs: Errors, keys: list[str], path: str) -> None:
    for k in keys:
        errs.invalid_each(index(path, k), k, is_config_map_key(k))


def validate_config_map(errs: Errors, cm: core_pb2.ConfigMap) -> None:
    """Keys are file names, not in both data and binaryData; at most 1 MiB."""
    _keys(errs, sorted(cm.data), "data")
    _keys(errs, sorted(cm.binary_data), "binaryData")
    for k in sorted(set(cm.data) & set(cm.binary_data)):
        errs.invalid(index("binaryData", k), k, "duplicate of key present in data")
    size = sum(len(k) + len(v.encode()) for k, v in cm.data.items())
    size += sum(len(k) + len(v) for k, v in cm.binary_data.items())
    if size > DATA_MAX_BYTES:
        errs.too_long("data", DATA_MAX_BYTES)


def validate_secret(errs: Errors, secret: core_pb2.Secret) -> None:
    """Keys are file names; at most 1 MiB of data; the keys a built-in type needs."""
    _keys(errs, sorted(secret.data), "data")
    _keys(errs, sorted(secret.string_data), "stringData")
    if sum(len(v) for v in secret.data.values()) > DATA_MAX_BYTES:
        errs.too_long("data", DATA_MAX_BYTES)
    if secret.type and len(secret.type) > 253:
        errs.invalid("type", secret.type, "must be no more than 253 characters")
    _typed_data(errs, secret)


DOCKER_CONFIG_KEYS = {
    "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
    "kubernetes.io/dockercfg": ".dockercfg",
}
"""The key of each registry-credentials type, whose value must be a JSON object: the
kubelet reads it when it pulls for a pod naming the Secret in imagePullSecrets."""
REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def _typed_data(errs: Errors, secret: core_pb2.Secret) -> None:
    """Kubernetes' per-type rules (ValidateSecret), in its words."""
    data = secret.data
    for key in REQUIRED_KEYS.get(secret.type, ()):
        if key not in data:
            errs.required(f"data[{key}]")
    if secret.type == "kubernetes.io/basic-auth" and not {"username", "password"} & set(data):
        errs.required("data[username]")
        errs.required("data[password]")
    config_key = DOCKER_CONFIG_KEYS.get(secret.type)
    if config_key is None:
        return
    if config_key not in data:
        errs.required(f"data[{config_key}]")
        return
    try:
        parsed = json.loads(data[config_key])
    except ValueError as e:
        errs.invalid(f"data[{config_key}]", "<secret contents redacted>", str(e))
        return
    if not isinstance(parsed, dict):
        errs.invalid(f"data[{config_key}]", "<secret contents redacted>", "must be a JSON object")


def validate_immutable_data(errs: Errors, new: object, old: object) -> None:
    """A ConfigMap or Secret marked immutable keeps its data, and stays immutable."""
    if not getattr(old, "immutable", False):
        return
    if not getattr(new, "immutable", False):
        errs.forbidden("immutable", "field is immutable when `immutable` is set")
    for field, json_name in (("data", "data"), ("binary_data", "binaryData")):
        if hasattr(old, field) and dict(getattr(new, field)) != dict(getattr(old, field)):
            errs.forbidden(json_name, "field is immutable when `immutable` is set")


def validate_event(errs: Errors, event: core_pb2.Event) -> None:
    """The involved object lives in the event's namespace; type is Normal or Warning."""
    ns, involved = event.metadata.namespace, event.involved_object.namespace
    if involved and ns != involved:
        errs.invalid("involvedObject.namespace", involved, "does not match event.namespace")
    elif not involved and ns not in ("", "default"):
        errs.invalid("involvedObject.namespace", involved, "does not match event.namespace")
    errs.enum("type", event.type, ("Normal", "Warning"), required=False)
    errs.non_negative("count", event.count)
    if len(event.reason) > 128:
        errs.invalid("reason", event.reason, "can have at most 128 characters")


def validate_lease(errs: Errors, lease: workloads_pb2.Lease) -> None:
    """A positive duration and a non-negative transition count."""
    spec = lease.spec
    if spec.HasField("lease_duration_seconds"):
        errs.positive("spec.leaseDurationSeconds", spec.lease_duration_seconds)
    errs.non_negative("spec.leaseTransitions", spec.lease_transitions)


def validate_priority_class(errs: Errors, pc: workloads_pb2.PriorityClass) -> None:
    """User classes go up to one billion; `system-` names are reserved for the two built-ins."""
    name = pc.metadata.name
    if name.startswith("system-"):
        expected = SYSTEM_PRIORITY_CLASSES.get(name)
        if expected is None:
            errs.forbidden(
                "metadata.name", "priority class names with 'system-' prefix are reserved"
            )
        elif pc.value != expected:
            errs.forbidden("value", f"value of {name} must be {expected}")
    elif pc.value > HIGHEST_USER_PRIORITY:
        errs.forbidden(
            "value", f"maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"
        )
    errs.enum(
        "preemptionPolicy", pc.preemption_policy, ("PreemptLowerPriority", "Never"), required=False
    )


def validate_priority_class_update(
    errs: Errors, new: workloads_pb2.PriorityClass, old: workloads_pb2.PriorityClass
) -> None:
    """value and preemptionPolicy never change."""
    if new.value != old.value:
        errs.forbidden("value", "may not be changed in an update.")
    if new.preemption_policy != old.preemption_policy:
        errs.immutable("preemptionPolicy", new.preemption_policy)
