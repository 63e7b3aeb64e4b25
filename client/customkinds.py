"""Kinds that exist only at run time: what a CustomResourceDefinition makes the API serve.

Every other kind is a line of client/kinds.py with a message of its own; a custom kind is
known only once a CRD names it, so its `Kind` is built here from the CRD (its message is
always the generic CustomObject) and put in kinds.py's run-time table, where by_resource,
by_kind, resolve and of find it after the static kinds. The API server does that as it
watches CRDs; a client (`tug`, an operator) does it from the CRDs it lists, as kubectl
learns custom resources from discovery (`load`).

The printer columns of a CRD (additionalPrinterColumns) are evaluated here too, so that
the server's Table (kubectl) and `tug get` print the same cells.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from client import kinds
from client.codec import to_dict
from client.kinds import Kind, Object
from client.printing import columns
from client.printing.age import age
from proto import apiextensions_pb2

__all__ = [
    "CustomKind",
    "CustomVersion",
    "PrinterColumn",
    "ScaleSpec",
    "json_path_values",
    "kind_of",
    "load",
    "parse_json_path",
    "serve",
    "stop",
]

CRDS = "customresourcedefinitions"
DEFAULT_COLUMNS_NOTE = "Age: the one column Kubernetes serves when a CRD declares none"


@dataclass(frozen=True)
class PrinterColumn:
    """One additionalPrinterColumn."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


AGE = PrinterColumn(
    "Age", "date", ".metadata.creationTimestamp", "CreationTimestamp is a timestamp..."
)


@dataclass(frozen=True)
class ScaleSpec:
    """The scale subresource's paths (`.spec.replicas`, ...)."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str = ""


@dataclass(frozen=True)
class CustomVersion:
    """One version of a custom kind as its CRD declares it."""

    name: str
    served: bool
    storage: bool
    schema: str
    """The openAPIV3Schema as JSON text ("" when none: then nothing is validated)."""
    columns: tuple[PrinterColumn, ...]
    status: bool
    scale: ScaleSpec | None
    selectable: tuple[str, ...] = ()
    """The fields field selectors may name besides metadata's (`spec.color`)."""


@dataclass(frozen=True)
class CustomKind(Kind):
    """A kind served from a CRD: its message is CustomObject, its api_version the storage
    version's (what is stored); `versions` says what else is served."""

    versions: tuple[CustomVersion, ...] = ()
    singular_name: str = ""
    list_kind: str = ""
    categories: tuple[str, ...] = ()
    crd_name: str = ""
    webhook: Any = field(default=None, compare=False)
    """The CRD's WebhookConversion when its strategy is Webhook; None: strategy None."""

    @property
    def singular(self) -> str:
        return self.singular_name or self.kind.lower()

    def version(self, name: str = "") -> CustomVersion:
        """One declared version (the storage version when `name` is empty)."""
        wanted = name or self.api_version.rpartition("/")[2]
        return next(v for v in self.versions if v.name == wanted)

    def served_versions(self) -> list[str]:
        return [v.name for v in self.versions if v.served]

    def at_version(self, version: str) -> CustomKind:
        """The same kind as a served version names it (apiVersion rewritten, as
        conversion strategy None does)."""
        return replace(self, api_version=f"{self.group}/{version}")

    @property
    def storage_version(self) -> str:
        return next(v.name for v in self.versions if v.storage)


def _columns(version: apiextensions_pb2.CustomResourceDefinitionVersion) -> list[PrinterColumn]:
    found = [
        PrinterColumn(c.name, c.type, c.json_path, c.description, c.priority, c.format)
        for c in version.additional_printer_columns
    ]
    # As apiextensions-apiserver: a version that declares no columns gets Age alone.
    return found or [AGE]


def _version(v: apiextensions_pb2.CustomResourceDefinitionVersion) -> CustomVersion:
    schema = ""
    if v.HasField("schema") and v.schema.HasField("open_apiv3_schema"):
        schema = v.schema.open_apiv3_schema.json
    scale = None
    if v.subresources.HasField("scale"):
        s = v.subresources.scale
        scale = ScaleSpec(s.spec_replicas_path, s.status_replicas_path, s.label_selector_path)
    return CustomVersion(
        name=v.name,
        served=v.served,
        storage=v.storage,
        schema=schema,
        columns=tuple(_columns(v)),
        status=v.subresources.HasField("status"),
        scale=scale,
        selectable=tuple(f.json_path.lstrip(".") for f in v.selectable_fields),
    )


def kind_of(crd: apiextensions_pb2.CustomResourceDefinition) -> CustomKind | None:
    """The kind a CRD makes the API serve; None while it serves nothing (no storage
    version, or no names yet)."""
    spec = crd.spec
    names = spec.names
    storage = [v for v in spec.versions if v.storage]
    if not storage or not names.plural or not names.kind or not spec.group:
        return None
    versions = tuple(_version(v) for v in spec.versions)
    store = next(v for v in versions if v.storage)
    conversion = spec.conversion
    return CustomKind(
        kind=names.kind,
        api_version=f"{spec.group}/{store.name}",
        resource=names.plural,
        message=apiextensions_pb2.CustomObject,
        namespaced=spec.scope != "Cluster",
        short_names=tuple(names.short_names),
        has_status=store.status,
        versions=versions,
        singular_name=names.singular or names.kind.lower(),
        list_kind=names.list_kind or f"{names.kind}List",
        categories=tuple(names.categories),
        crd_name=crd.metadata.name,
        webhook=conversion.webhook if conversion.strategy == "Webhook" else None,
    )


def serve(crd: apiextensions_pb2.CustomResourceDefinition) -> CustomKind | None:
    """Put the CRD's kind in the run-time table (and its columns in `tug get`'s)."""
    kind = kind_of(crd)
    if kind is None:
        return None
    try:
        static = kinds.by_resource(kind.resource)
    except kinds.UnknownKindError:
        static = None
    if static is not None and not isinstance(static, CustomKind):
        return None  # a built-in resource keeps its name (the CRD is refused anyway)
    kinds.register_dynamic(kind, (*kind.short_names, kind.singular))
    columns.DYNAMIC_TABLES[kind.resource] = _table_columns(kind)
    return kind


def stop(resource: str) -> None:
    """Stop serving a custom resource."""
    kinds.unregister_dynamic(resource)
    columns.DYNAMIC_TABLES.pop(resource, None)


class _Lister(Protocol):
    async def list_all(self, resource: str, namespace: str = "") -> Any: ...


async def load(api: _Lister) -> list[CustomKind]:
    """Learn every custom kind the cluster serves, from its CRDs (what discovery lists)."""
    page = await api.list_all(CRDS)
    found = []
    for crd in page.items:
        if crd.metadata.deletion_timestamp:
            continue
        kind = serve(crd)
        if kind is not None:
            found.append(kind)
    return found


# ---- JSONPath, the simple form printer columns and scale paths use ----

_STEP = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_$-]+)
      | \[(?P<index>-?\d+|\*)\]
      | \[\?\(@\.(?P<key>[A-Za-z0-9_.-]+)\s*==\s*(?P<quote>["'])(?P<value>[^"']*)(?P=quote)\)\]
    """,
    re.VERBOSE,
)


def parse_json_path(path: str) -> list[tuple[str, str]]:
    """The steps of a simple JSONPath (`.spec.replicas`, `.status.conditions[0].type`,
    `.items[*].name`, `.conditions[?(@.type=="Ready")].status`); ValueError otherwise."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if not text.startswith("."):
        raise ValueError("must be a simple json path starting with a dot")
    steps: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        m = _STEP.match(text, at)
        if m is None:
            raise ValueError(f"unsupported JSONPath syntax at {text[at:]!r}")
        if m.group("field") is not None:
            steps.append(("field", m.group("field")))
        elif m.group("index") is not None:
            steps.append(("index", m.group("index")))
        else:
            steps.append(("filter", f"{m.group('key')}={m.group('value')}"))
        at = m.end()
    return steps


def json_path_values(data: Any, path: str) -> list[Any]:
    """Every value `path` reaches in `data` (none when a step is missing)."""
    current = [data]
    for step, arg in parse_json_path(path):
        nxt: list[Any] = []
        for item in current:
            if step == "field" and isinstance(item, dict) and arg in item:
                nxt.append(item[arg])
            elif step == "index" and isinstance(item, list):
                if arg == "*":
                    nxt.extend(item)
                elif -len(item) <= int(arg) < len(item):
                    nxt.append(item[int(arg)])
            elif step == "filter" and isinstance(item, list):
                key, _, value = arg.partition("=")
                for entry in item:
                    found = json_path_values(entry, "." + key)
                    if found and str(found[0]) == value:
                        nxt.append(entry)
        current = nxt
    return current


def cell(column: PrinterColumn, data: Any, at: datetime) -> Any:
    """One Table cell, typed as apiextensions-apiserver's table convertor types it: None
    when the path reaches nothing, a human age for dates, the JSON value otherwise."""
    try:
        found = json_path_values(data, column.json_path)
    except ValueError:
        return None
    if not found:
        return None
    value = found[0] if len(found) == 1 else ",".join(json.dumps(v) for v in found)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if column.type == "date" and isinstance(value, str):
        return age(value, at)
    if column.type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return value


def text(value: Any) -> str:
    """A cell as kubectl prints the server's Table: blank for nothing, JSON's spelling of
    booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _table_columns(kind: CustomKind) -> columns.Columns:
    every = kind.version().columns
    narrow = tuple(c for c in every if c.priority == 0)

    def row_of(chosen: tuple[PrinterColumn, ...]) -> columns.Row:
        def row(obj: Object, at: datetime) -> list[str]:
            data = to_dict(obj)
            return [text(cell(c, data, at)) for c in chosen]

        return row

    return columns.Columns(
        tuple(c.name.upper() for c in narrow),
        row_of(narrow),
        tuple(c.name.upper() for c in every),
        row_of(every),
        wide_replaces=True,  # kubectl -o wide keeps the CRD's order
    )
