"""Conversion between Kubernetes-shaped dicts (YAML, JSON) and API messages.

Written against the message descriptors instead of using protobuf's json_format
because manifests need what json_format cannot give: Kubernetes' int-or-string
fields that keep the form given, base64 byte maps, free JSON trees (managedFields'
fieldsV1, kept as text), ExtraValue's bare list of strings (a map of lists has no proto3
spelling but a message wrapping the list), and errors that name the exact
field path (`spec.template.spec.containers[0].ports[0].containerPort`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)

_INT_OR_STRING = "tugboat.v1.IntOrString"
_RAW_JSON = "tugboat.v1.RawJSON"
_EXTRA_VALUE = "tugboat.v1.ExtraValue"
_CUSTOM_OBJECT = "tugboat.v1.CustomObject"
_CUSTOM_OWN = ("apiVersion", "kind", "metadata")
_INT_TYPES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
}

# Fields of Kubernetes' `resource.Quantity`, which takes a JSON number as well as a
# string (`cpu: 1`, `example.com/dongle: 3`): the number is kept as its decimal text.
# Every other string field refuses a number, as Kubernetes' strict decoding does.
_QUANTITY_FIELDS = frozenset(
    f"tugboat.v1.{name}"
    for name in (
        "NodeStatus.capacity",
        "NodeStatus.allocatable",
        "ResourceRequirements.requests",
        "ResourceRequirements.limits",
        "EmptyDirVolumeSource.size_limit",
        "PersistentVolumeSpec.capacity",
        "VolumeResourceRequirements.requests",
        "VolumeResourceRequirements.limits",
        "PersistentVolumeClaimStatus.capacity",
        "ResourceQuotaSpec.hard",
        "ResourceQuotaStatus.hard",
        "ResourceQuotaStatus.used",
        "LimitRangeItem.max",
        "LimitRangeItem.min",
        "LimitRangeItem.default",
        "LimitRangeItem.default_request",
        "LimitRangeItem.max_limit_request_ratio",
        "MetricTarget.value",
        "MetricTarget.average_value",
        "MetricValueStatus.value",
        "MetricValueStatus.average_value",
        "ResourceFieldSelector.divisor",
    )
)


class FieldError(ValueError):
    """A value that does not fit the API's shape, with the path of the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.detail = message


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_JSON_TYPES: tuple[tuple[type, str], ...] = (
    # bool before int: a bool is an int to isinstance, but JSON's boolean to the user.
    (bool, "boolean"),
    (int, "number"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (Mapping, "object"),
)


def _type_name(value: object) -> str:
    """JSON's name for the value's type, as error messages name it."""
    if value is None:
        return "null"
    return next((name for t, name in _JSON_TYPES if isinstance(value, t)), type(value).__name__)


def _quantity_text(value: int | float) -> str:
    """A JSON number as the quantity it spells, in plain decimals (no exponent)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(value)
    return format(Decimal(repr(value)).normalize(), "f")


def _scalar(field: FieldDescriptor, value: object, path: str, *, quantity: bool = False) -> object:
    t = field.type
    if quantity and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return _quantity_text(value)
        except ValueError:
            raise FieldError(path, f"expected a quantity, got number {value!r}") from None
    if t == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise FieldError(path, f"expected a string, got {_type_name(value)} {value!r}")
        return value
    if t in _INT_TYPES:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError(path, f"expected an integer, got {_type_name(value)} {value!r}")
        low, high = _INT_TYPES[t]
        if not low <= value <= high:
            raise FieldError(path, f"integer {value} is out of range")
        return value
    if t == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise FieldError(path, f"expected true or false, got {_type_name(value)} {value!r}")
        return value
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldError(path, f"expected a number, got {_type_name(value)} {value!r}")
        return float(value)
    if t == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            raise FieldError(path, f"expected a base64 string, got {_type_name(value)}")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise FieldError(path, "illegal base64 data") from None
    raise FieldError(path, f"unsupported field type {t}")  # pragma: no cover


def _fill(msg: Message, data: object, path: str) -> None:
    desc = msg.DESCRIPTOR
    if desc.full_name == _INT_OR_STRING:
        if isinstance(data, bool) or not isinstance(data, int | str):
            raise FieldError(path, f"expected an integer or a string, got {_type_name(data)}")
        if isinstance(data, int):
            if not -(2**31) <= data < 2**31:
                raise FieldError(path, f"integer {data} is out of range")
            msg.int_val = data  # type: ignore[attr-defined]
        else:
            msg.str_val = data  # type: ignore[attr-defined]
        return
    if desc.full_name == _RAW_JSON:
        if not isinstance(data, Mapping):
            raise FieldError(path, f"expected an object, got {_type_name(data)}")
        msg.json = json.dumps(data, sort_keys=True, separators=(",", ":"))  # type: ignore[attr-defined]
        return
    if desc.full_name == _EXTRA_VALUE:
        _set_field(msg, _json_fields(desc)["items"], data, path)
        return
    if not isinstance(data, Mapping):
        raise FieldError(path, f"expected an object, got {_type_name(data)}")
    if desc.full_name == _CUSTOM_OBJECT:
        _fill_custom(msg, data, path)
        return
    msg.SetInParent()
    by_json = _json_fields(desc)
    for name, value in data.items():
        fpath = _join(path, str(name))
        field = by_json.get(name) if isinstance(name, str) else None
        if field is None:
            raise FieldError(fpath, "unknown field")
        if value is None:
            continue
        _set_field(msg, field, value, fpath)


def _fill_custom(msg: Message, data: Mapping[Any, Any], path: str) -> None:
    """A custom object (its kind has no message of its own): apiVersion, kind and
    metadata as any object's, an object-valued status apart, every other field kept as
    JSON in `content` for the kind's schema (master/apiserver/customresources/) to judge."""
    own = {k: v for k, v in data.items() if k in _CUSTOM_OWN and v is not None}
    rest = {str(k): v for k, v in data.items() if k not in _CUSTOM_OWN}
    status = rest.pop("status", None)
    if status is not None and not isinstance(status, Mapping):
        rest["status"] = status  # not an object: the schema check names it
    by_json = _json_fields(msg.DESCRIPTOR)
    for name, value in own.items():
        _set_field(msg, by_json[name], value, _join(path, name))
    _fill(msg.content, rest, _join(path, "content"))  # type: ignore[attr-defined]
    if isinstance(status, Mapping):
        _fill(msg.status, status, _join(path, "status"))  # type: ignore[attr-defined]


def _custom_dict(msg: Any) -> dict[str, object]:
    """The Kubernetes-shaped dict of a custom object: its content's fields at the top."""
    out: dict[str, object] = {}
    if msg.api_version:
        out["apiVersion"] = msg.api_version
    if msg.kind:
        out["kind"] = msg.kind
    if msg.HasField("metadata"):
        out["metadata"] = to_dict(msg.metadata)
    content = json.loads(msg.content.json or "{}")
    out.update({k: v for k, v in content.items() if k not in _CUSTOM_OWN})
    if msg.HasField("status"):
        out["status"] = to_dict(msg.status)
    return out


_JSON_FIELDS: dict[str, dict[str, FieldDescriptor]] = {}


def _json_fields(desc: Any) -> dict[str, FieldDescriptor]:
    found = _JSON_FIELDS.get(desc.full_name)
    if found is None:
        found = {f.json_name: f for f in desc.fields}
        _JSON_FIELDS[desc.full_name] = found
    return found


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and bool(
        _message_type(field).GetOptions().map_entry
    )


def _message_type(field: FieldDescriptor) -> Descriptor:
    desc = field.message_type
    assert desc is not None, f"{field.full_name} is not a message field"
    return desc


def _set_field(msg: Message, field: FieldDescriptor, value: object, path: str) -> None:
    if _is_map(field):
        if not isinstance(value, Mapping):
            raise FieldError(path, f"expected an object, got {_type_name(value)}")
        target = getattr(msg, field.name)
        vfield = _message_type(field).fields_by_name["value"]
        for k, v in value.items():
            if not isinstance(k, str):
                k = str(k)
            kpath = f"{path}[{k}]"
            if v is None:
                v = ""
            if vfield.type == FieldDescriptor.TYPE_MESSAGE:
                _fill(target[k], v, kpath)
            else:
                target[k] = _scalar(vfield, v, kpath, quantity=field.full_name in _QUANTITY_FIELDS)
        return
    if field.is_repeated:
        if not isinstance(value, list):
            raise FieldError(path, f"expected an array, got {_type_name(value)}")
        target = getattr(msg, field.name)
        for i, item in enumerate(value):
            ipath = f"{path}[{i}]"
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                _fill(target.add(), item, ipath)
            else:
                if item is None:
                    raise FieldError(ipath, "null is not allowed in this list")
                target.append(_scalar(field, item, ipath))
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        _fill(getattr(msg, field.name), value, path)
        return
    setattr(
        msg, field.name, _scalar(field, value, path, quantity=field.full_name in _QUANTITY_FIELDS)
    )


def from_dict(cls: type[M], data: object, *, path: str = "") -> M:
    """Build a message of `cls` from a dict; raise FieldError naming the first bad field."""
    msg = cls()
    _fill(msg, data, path)
    return msg


def merge_dict(msg: Message, data: object, *, path: str = "") -> None:
    """Set the fields given in `data` on an existing message."""
    _fill(msg, data, path)


def _value(field: FieldDescriptor, value: Any) -> object:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return to_dict(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    return value


def to_dict(msg: Message) -> Any:
    """The Kubernetes-shaped dict of a message: only fields that are set, JSON names."""
    if msg.DESCRIPTOR.full_name == _INT_OR_STRING:
        which = msg.WhichOneof("value")
        return getattr(msg, which) if which else 0
    if msg.DESCRIPTOR.full_name == _RAW_JSON:
        return json.loads(msg.json or "{}")  # type: ignore[attr-defined]
    if msg.DESCRIPTOR.full_name == _EXTRA_VALUE:
        return list(msg.items)  # type: ignore[attr-defined]
    if msg.DESCRIPTOR.full_name == _CUSTOM_OBJECT:
        return _custom_dict(msg)
    out: dict[str, object] = {}
    for field, value in msg.ListFields():
        if _is_map(field):
            vfield = _message_type(field).fields_by_name["value"]
            out[field.json_name] = {k: _value(vfield, value[k]) for k in sorted(value)}
        elif field.is_repeated:
            out[field.json_name] = [_value(field, v) for v in value]
        else:
            out[field.json_name] = _value(field, value)
    return out
