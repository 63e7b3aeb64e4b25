"""A container's environment: envFrom, then env (which wins), with $(VAR) expansion."""

from __future__ import annotations

import re

from kubelet.pods.config import ConfigSource, ContainerConfigError
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


def field_value(pod: core_pb2.Pod, path: str, pod_ip: str) -> str:
    """The value a fieldRef names; ContainerConfigError for an unsupported path."""
    meta = pod.metadata
    simple = {
        "metadata.name": meta.name,
        "metadata.namespace": meta.namespace,
        "metadata.uid": meta.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name,
        "status.podIP": pod_ip,
        "status.hostIP": pod.status.host_ip,
    }
    if path in simple:
        return simple[path]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if m:
        source = meta.labels if m.group(1) == "labels" else meta.annotations
        return source.get(m.group(2), "")
    raise ContainerConfigError(f"fieldRef: unsupported fieldPath {path!r}")


async def container_env(
    pod: core_pb2.Pod, container: core_pb2.Container, source: ConfigSource, pod_ip: str
) -> dict[str, str]:
    """The resolved environment; ContainerConfigError names the missing object or key."""
    ns = pod.metadata.namespace
    env: dict[str, str] = {}
    for i, ef in enumerate(container.env_from):
        where = f"containers[{container.name}].envFrom[{i}]"
        if ef.HasField("config_map_ref"):
            ref = ef.config_map_ref
            cm = await source.configmap(ns, ref.name)
            if cm is None:
                if ref.optional:
                    continue
                raise ContainerConfigError(f'{where}: configmap "{ref.name}" not found')
            items = dict(cm.data)
            items.update({k: v.decode(errors="replace") for k, v in cm.binary_data.items()})
        elif ef.HasField("secret_ref"):
            sref = ef.secret_ref
            secret = await source.secret(ns, sref.name)
            if secret is None:
                if sref.optional:
                    continue
                raise ContainerConfigError(f'{where}: secret "{sref.name}" not found')
            items = {k: v.decode(errors="replace") for k, v in secret.data.items()}
        else:
            continue
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
            if cm is None or cref.key not in cm.data:
                if cref.optional:
                    continue
                if cm is None:
                    raise ContainerConfigError(f'{where}: configmap "{cref.name}" not found')
                raise ContainerConfigError(
                    f"{where}: couldn't find key {cref.key} in ConfigMap {ns}/{cref.name}"
                )
            env[var.name] = cm.data[cref.key]
        elif vf.HasField("secret_key_ref"):
            sk = vf.secret_key_ref
            secret = await source.secret(ns, sk.name)
            if secret is None or sk.key not in secret.data:
                if sk.optional:
                    continue
                if secret is None:
                    raise ContainerConfigError(f'{where}: secret "{sk.name}" not found')
                raise ContainerConfigError(
                    f"{where}: couldn't find key {sk.key} in Secret {ns}/{sk.name}"
                )
            env[var.name] = secret.data[sk.key].decode(errors="replace")
        elif vf.HasField("field_ref"):
            env[var.name] = field_value(pod, vf.field_ref.field_path, pod_ip)
        else:
            raise ContainerConfigError(f"{where}: valueFrom has no source")
    return env
