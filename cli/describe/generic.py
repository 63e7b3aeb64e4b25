"""The fallback page for kinds without their own describer: every set field, nested."""

from __future__ import annotations

from typing import Any

from cli.describe.writer import Writer, timestamp
from cli.printers.structured import object_dict
from client.kinds import Object
from proto import core_pb2


def _title(key: str) -> str:
    return key[:1].upper() + key[1:]


def _value(w: Writer, level: int, key: str, value: Any) -> None:
    # Field names read as titles at the top; nested keys (map keys) stay as written.
    name = _title(key) if level == 0 else key
    if isinstance(value, dict):
        if not value:
            w.field(level, name, "")
            return
        w.title(level, f"{name}:")
        for k, v in value.items():
            _value(w, level + 1, k, v)
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            w.field(level, name, ", ".join(str(v) for v in value))
            return
        w.title(level, f"{name}:")
        for v in value:
            if isinstance(v, dict):
                w.title(level + 1, "-")
                for k2, v2 in v.items():
                    _value(w, level + 2, k2, v2)
            else:
                w.title(level + 1, f"- {v}")
    else:
        w.field(level, name, value if not isinstance(value, bool) else str(value).lower())


def describe_configmap(w: Writer, cm: core_pb2.ConfigMap) -> None:
    """kubectl's ConfigMap page: each key, a rule, and its value."""
    meta = cm.metadata
    w.field(0, "Name", meta.name)
    w.field(0, "Namespace", meta.namespace)
    w.mapping(0, "Labels", dict(meta.labels))
    w.mapping(0, "Annotations", dict(meta.annotations), ": ")
    for title, items in (
        ("Data", sorted(cm.data.items())),
        ("BinaryData", [(k, f"{len(v)} bytes") for k, v in sorted(cm.binary_data.items())]),
    ):
        w.title(0, "")
        w.title(0, title)
        w.title(0, "====")
        for k, v in items:
            w.title(0, f"{k}:")
            w.title(0, "----")
            for line in v.splitlines() or [""]:
                w.title(0, line)
            w.title(0, "")
    w.title(0, "")


def describe_generic(w: Writer, obj: Object) -> None:
    """Name, Namespace, Labels, Annotations, then every other field of the object."""
    meta = obj.metadata
    w.field(0, "Name", meta.name)
    if meta.namespace:
        w.field(0, "Namespace", meta.namespace)
    w.mapping(0, "Labels", dict(meta.labels))
    w.mapping(0, "Annotations", dict(meta.annotations), ": ")
    w.field(0, "CreationTimestamp", timestamp(meta.creation_timestamp))
    data = object_dict(obj)
    for key, value in data.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        _value(w, 0, key, value)
