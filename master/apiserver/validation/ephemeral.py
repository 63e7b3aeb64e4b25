"""Ephemeral containers' own rules, beside the pod's.

An ephemeral container (what `kubectl debug` adds to a running pod) is a Container run
once: everything a container is checked for applies, and pod.py checks it as one
(client/ephemeral.py reads it as a Container). These rules add what only it has, as
Kubernetes words them: what it may not carry (it is never served, probed, sized,
hooked or restarted), the container whose namespaces it joins, and that once added it is
never changed or removed (ValidatePodEphemeralContainersUpdate).
"""

from __future__ import annotations

from client.ephemeral import as_container
from master.apiserver.validation.errors import Errors, child, index
from proto import core_pb2

__all__ = ["common_part", "validate_added", "validate_own_fields"]

_NOT_FOR_EPHEMERAL = (
    ("ports", "ports"),
    ("resources", "resources"),
    ("lifecycle", "lifecycle"),
    ("liveness_probe", "livenessProbe"),
    ("readiness_probe", "readinessProbe"),
    ("startup_probe", "startupProbe"),
    ("restart_policy", "restartPolicy"),
)
_MESSAGE = "cannot be set for an Ephemeral Container"
PATH = "spec.ephemeralContainers"


def _is_set(e: core_pb2.EphemeralContainer, field: str) -> bool:
    descriptor = e.DESCRIPTOR.fields_by_name[field]
    if descriptor.is_repeated:
        return len(getattr(e, field)) > 0
    if descriptor.message_type is not None:
        # kubectl debug sends `resources: {}`: an empty one is none, as Kubernetes reads it.
        return e.HasField(field) and getattr(e, field).ByteSize() > 0
    return bool(getattr(e, field))


def common_part(e: core_pb2.EphemeralContainer) -> core_pb2.Container:
    """The Container checked as any other: without the fields only refused here, so a
    probe is reported once, as not allowed, rather than also as malformed."""
    container = as_container(e)
    for field, _ in _NOT_FOR_EPHEMERAL:
        container.ClearField(field)
    return container


def validate_own_fields(
    errs: Errors, e: core_pb2.EphemeralContainer, path: str, spec: core_pb2.PodSpec
) -> None:
    """What an ephemeral container may not carry, and the container it targets."""
    for field, json_name in _NOT_FOR_EPHEMERAL:
        if _is_set(e, field):
            errs.forbidden(child(path, json_name), _MESSAGE)
    for j, mount in enumerate(e.volume_mounts):
        if mount.sub_path:
            errs.forbidden(child(index(child(path, "volumeMounts"), j), "subPath"), _MESSAGE)
    target = e.target_container_name
    if target and target not in {c.name for c in [*spec.containers, *spec.init_containers]}:
        errs.not_found(child(path, "targetContainerName"), target)


def validate_added(errs: Errors, new: core_pb2.PodSpec, old: core_pb2.PodSpec) -> None:
    """Ephemeral containers are only ever added: each one already there stays as it was."""
    by_name = {e.name: (i, e) for i, e in enumerate(new.ephemeral_containers)}
    for e in old.ephemeral_containers:
        found = by_name.get(e.name)
        if found is None:
            errs.forbidden(PATH, f'existing ephemeral containers "{e.name}" may not be removed')
        elif found[1] != e:
            errs.forbidden(
                index(PATH, found[0]),
                f'existing ephemeral containers "{e.name}" may not be changed',
            )
