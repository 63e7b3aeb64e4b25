"""A container's environment: envFrom, then env (which wins), with $(VAR) expansion."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol, TypeVar

from kubelet.pods.config import ConfigSource, ContainerConfigError
from kubelet.pods.downward import UNKNOWN_CAPACITY, NodeCapacity, field_value, resource_value
from proto import core_pb2

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_VALID_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined names are replaced, `$$` escapes a `$`."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env.get(name, m.group(0))

    return _REF.sub(sub, text)


def _decoded(data: Mapping[str, bytes]) -> dict[str, str]:
    # Environment variables are text: bytes that are not UTF-8 must not fail the start.
    return {k: v.decode(errors="replace") for k, v in data.items()}


class _Ref(Protocol):
    """A reference to a ConfigMap or a Secret: the two kinds are looked up alike."""

    name: str
    optional: bool


class _KeyRef(_Ref, Protocol):
    """A configMapKeyRef or secretKeyRef."""

    key: str


_V = TypeVar("_V")


def _key(kind: str, ns: str, ref: _KeyRef, data: Mapping[str, _V] | None) -> _V | None:
    """The value at ref.key in the named object's data (None: there is no such object).
    None when an optional ref finds nothing; otherwise ContainerConfigError, worded as
    Kubernetes words it (the container's waiting message and its "Error: ..." event
    say no more)."""
    if data is not None and ref.key in data:
        return data[ref.key]
    if ref.optional:
        return None
    if data is None:
        raise ContainerConfigError(f'{kind.lower()} "{ref.name}" not found')
    raise ContainerConfigError(f"couldn't find key {ref.key} in {kind} {ns}/{ref.name}")


async def container_env(
    pod: core_pb2.Pod,
    container: core_pb2.Container,
    source: ConfigSource,
    pod_ip: str,
    capacity: NodeCapacity = UNKNOWN_CAPACITY,
) -> dict[str, str]:
    """The resolved environment; ContainerConfigError names the missing object or key."""
    ns = pod.metadata.namespace
    env: dict[str, str] = {}
    for ef in container.env_from:
        items: dict[str, str] | None
        ref: _Ref
        if ef.HasField("config_map_ref"):
            ref, kind = ef.config_map_ref, "configmap"
            cm = await source.configmap(ns, ref.name)
            items = None if cm is None else {**cm.data, **_decoded(cm.binary_data)}
        elif ef.HasField("secret_ref"):
            ref, kind = ef.secret_ref, "secret"
            secret = await source.secret(ns, ref.name)
            items = None if secret is None else _decoded(secret.data)
        else:
            continue
        if items is None:
            if ref.optional:
                continue
            raise ContainerConfigError(f'{kind} "{ref.name}" not found')
        for k, v in items.items():
            name = ef.prefix + k
            if _VALID_NAME.match(name):
                env[name] = v
    for var in container.env:
        where = f"containers[{container.name}].env[{var.name}]"
        if var.HasField("value"):
            env[var.name] = expand(var.value, env)
            continue
        if not var.HasField("value_from"):
            env[var.name] = ""
            continue
        vf = var.value_from
        if vf.HasField("config_map_key_ref"):
            cref = vf.config_map_key_ref
            cm = await source.configmap(ns, cref.name)
            value = _key("ConfigMap", ns, cref, None if cm is None else cm.data)
            if value is not None:
                env[var.name] = value
        elif vf.HasField("secret_key_ref"):
            sref = vf.secret_key_ref
            secret = await source.secret(ns, sref.name)
            raw = _key("Secret", ns, sref, None if secret is None else secret.data)
            if raw is not None:
                env[var.name] = raw.decode(errors="replace")
        elif vf.HasField("field_ref"):
            env[var.name] = field_value(pod, vf.field_ref.field_path, pod_ip)
        elif vf.HasField("resource_field_ref"):
            env[var.name] = resource_value(pod, vf.resource_field_ref, capacity, container.name)
        else:
            raise ContainerConfigError(f"{where}: valueFrom has no source")
    return env
