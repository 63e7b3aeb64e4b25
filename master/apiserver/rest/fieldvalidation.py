"""`fieldValidation`: what the HTTP API does with fields a kind does not have.

As kube-apiserver: `Strict` refuses the request naming the field, `Warn` (the default
when the parameter is absent) drops the field and says so in a `Warning: 299` header,
which kubectl prints, and `Ignore` drops it silently. The gRPC front-end is always strict:
its clients are our own components and `tug`, which must never lose a field unnoticed.
"""

from __future__ import annotations

from typing import Any

from client import errors

MODES = ("Strict", "Warn", "Ignore")


def mode_of(query: Any) -> str:
    """The request's fieldValidation, Warn when absent."""
    mode = str(query.get("fieldValidation", "") or "Warn")
    if mode not in MODES:
        raise errors.Invalid(
            f'fieldValidation: Unsupported value: "{mode}": supported values: '
            '"Ignore", "Strict", "Warn"'
        )
    return mode


def drop_unknown(data: Any, desc: Any, path: str = "") -> tuple[Any, list[str]]:
    """`data` without the fields the message descriptor `desc` does not have, and the
    dotted paths of those dropped (`spec.template.spec.containers[0].foo`)."""
    if not isinstance(data, dict):
        return data, []
    fields = {f.json_name: f for f in desc.fields}
    out: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in data.items():
        here = f"{path}.{key}" if path else str(key)
        field = fields.get(key)
        if field is None:
            dropped.append(here)
            continue
        inner = field.message_type
        if inner is None or inner.full_name.endswith((".IntOrString", ".RawJSON")):
            out[key] = value
        elif inner.GetOptions().map_entry:
            value_type = inner.fields_by_name["value"].message_type
            if value_type is not None and isinstance(value, dict):
                kept = {}
                for k, v in value.items():
                    kept[k], lost = drop_unknown(v, value_type, f"{here}[{k}]")
                    dropped += lost
                value = kept
            out[key] = value
        elif isinstance(value, list):
            items = []
            for i, item in enumerate(value):
                kept_item, lost = drop_unknown(item, inner, f"{here}[{i}]")
                items.append(kept_item)
                dropped += lost
            out[key] = items
        else:
            out[key], lost = drop_unknown(value, inner, here)
            dropped += lost
    return out, dropped
