"""Validation of what the kubelet writes into a pod's files and environment from elsewhere:
downwardAPI and projected volumes, and the resourceFieldRef they share with env.

Apart from pod.py because these sources are one family in Kubernetes'
`ValidateProjectedVolumeSource` and `validateDownwardAPIVolumeFile`: a projected volume
is the secret, configMap and downwardAPI volumes again, plus a ServiceAccount token, all
written into one directory. The messages and paths are Kubernetes' own.
"""

from __future__ import annotations

from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import file_mode, key_to_path, quantity, relative_path
from proto import core_pb2

FILE_FIELD_PATHS = (
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
)
"""What a downwardAPI file may hold: what is fixed for the pod's life (or, for labels and
annotations, rewritten when it changes). An env var may name more (pod.py)."""
RESOURCE_FIELDS = (
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
)
_CPU_DIVISORS = ("1m", "1")
_MEMORY_DIVISORS = tuple(
    f"1{unit}" for unit in ("", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
)
MIN_TOKEN_SECONDS = 600
MAX_TOKEN_SECONDS = 2**32


def resource_field_ref(
    errs: Errors, ref: core_pb2.ResourceFieldSelector, path: str, *, in_volume: bool
) -> None:
    """A container's resource: a volume's file must name the container, an env var may
    leave it to mean its own."""
    if in_volume and not ref.container_name:
        errs.required(child(path, "containerName"))
    elif not ref.resource:
        errs.required(child(path, "resource"))
    elif ref.resource not in RESOURCE_FIELDS and not ref.resource.startswith(
        ("limits.hugepages-", "requests.hugepages-")
    ):
        errs.unsupported(child(path, "resource"), ref.resource, RESOURCE_FIELDS)
    if not ref.divisor:
        return
    dpath = child(path, "divisor")
    if quantity(errs, dpath, ref.divisor) is None:
        return
    if ref.resource.endswith(".cpu") and ref.divisor not in _CPU_DIVISORS:
        errs.invalid(
            dpath, ref.divisor, "only divisor's values 1m and 1 are supported with the cpu resource"
        )
    elif ref.resource.endswith(".memory") and ref.divisor not in _MEMORY_DIVISORS:
        errs.invalid(
            dpath,
            ref.divisor,
            "only divisor's values " + ", ".join(_MEMORY_DIVISORS) + " are supported with the "
            "memory resource",
        )


def _file_field_path(errs: Errors, path: str, field_path: str) -> None:
    if not field_path:
        errs.required(child(path, "fieldPath"))
        return
    subscripted = field_path.startswith(
        ("metadata.labels['", "metadata.annotations['")
    ) and field_path.endswith("']")
    if field_path not in FILE_FIELD_PATHS and not subscripted:
        errs.unsupported(child(path, "fieldPath"), field_path, FILE_FIELD_PATHS)


def _downward_file(errs: Errors, f: core_pb2.DownwardAPIVolumeFile, path: str) -> None:
    if not f.path:
        errs.required(child(path, "path"))
    else:
        relative_path(errs, child(path, "path"), f.path)
    if f.HasField("field_ref"):
        _file_field_path(errs, child(path, "fieldRef"), f.field_ref.field_path)
        if f.HasField("resource_field_ref"):
            errs.invalid(
                path,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            )
    elif f.HasField("resource_field_ref"):
        resource_field_ref(
            errs, f.resource_field_ref, child(path, "resourceFieldRef"), in_volume=True
        )
    else:
        errs.required(path, "one of fieldRef and resourceFieldRef is required")
    if f.HasField("mode"):
        file_mode(errs, child(path, "mode"), f.mode)


def downward_api_volume(errs: Errors, src: core_pb2.DownwardAPIVolumeSource, path: str) -> None:
    """A downwardAPI volume: each file a field of the pod or a resource of a container."""
    if src.HasField("default_mode"):
        file_mode(errs, child(path, "defaultMode"), src.default_mode)
    for i, f in enumerate(src.items):
        _downward_file(errs, f, index(child(path, "items"), i))


def projected_volume(errs: Errors, src: core_pb2.ProjectedVolumeSource, path: str) -> None:
    """A projected volume: sources of one kind each, no two writing the same path."""
    if src.HasField("default_mode"):
        file_mode(errs, child(path, "defaultMode"), src.default_mode)
    seen: set[str] = set()

    def claim(written: str, value: str) -> None:
        if written in seen:
            errs.invalid(path, value, "conflicting duplicate paths")
        seen.add(written)

    for i, source in enumerate(src.sources):
        spath = index(child(path, "sources"), i)
        given = [f.name for f, _ in source.ListFields()]
        if len(given) > 1:
            errs.forbidden(spath, "may not specify more than 1 volume type per source")
        for field, json_name in (("secret", "secret"), ("config_map", "configMap")):
            if not source.HasField(field):
                continue
            proj = getattr(source, field)
            ppath = child(spath, json_name)
            if not proj.name:
                errs.required(child(ppath, "name"))
            for j, item in enumerate(proj.items):
                key_to_path(errs, item, index(child(ppath, "items"), j))
                if item.path:
                    claim(item.path, proj.name)
        if source.HasField("downward_api"):
            dpath = child(spath, "downwardAPI")
            for j, f in enumerate(source.downward_api.items):
                _downward_file(errs, f, index(child(dpath, "items"), j))
                if f.path:
                    claim(f.path, f.path)
        if source.HasField("service_account_token"):
            token = source.service_account_token
            tpath = child(spath, "serviceAccountToken")
            seconds = token.expiration_seconds if token.HasField("expiration_seconds") else 3600
            if seconds < MIN_TOKEN_SECONDS:
                errs.invalid(
                    child(tpath, "expirationSeconds"),
                    seconds,
                    "may not specify a duration less than 10 minutes",
                )
            elif seconds > MAX_TOKEN_SECONDS:
                errs.invalid(
                    child(tpath, "expirationSeconds"),
                    seconds,
                    "may not specify a duration larger than 2^32 seconds",
                )
            if not token.path:
                errs.required(child(tpath, "path"))
            else:
                relative_path(errs, child(tpath, "path"), token.path)
                claim(token.path, token.path)
