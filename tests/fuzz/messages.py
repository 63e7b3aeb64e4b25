"""Hypothesis strategies for any protobuf message of the API, built from its descriptor.

Every kind is fuzzed the same way, so the strategy reads the message's own descriptor
instead of a hand-written schema per kind: each field is set or left empty, scalars are
drawn from the values validators trip on (boundaries, signs, empty, unicode, control
characters, long strings), nested messages recurse to a bounded depth, repeated fields
and maps get a few entries. Names and namespaces are valid most of the time, so that
most draws get past metadata validation into the kind's own rules.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from client import kinds

MAX_DEPTH = 6
"""Nesting beyond this is left empty: deep enough for a pod template's probes."""

INT32 = (0, 1, -1, 2**31 - 1, -(2**31), 65535, 65536)
INT64 = (*INT32, 2**53, 2**63 - 1, -(2**63))

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
"""A valid DNS-1123 label."""

texts = st.one_of(
    st.sampled_from(["", "a", "web", "80", "true", "-1", "1Gi", "500m", "TCP", "Always"]),
    NAMES,
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8).map(lambda s: s * 30),
    st.sampled_from(["x" * 70_000, "é" * 300, "\x00", "a/b", "../..", " ", "🚢" * 64]),
)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t in (FieldDescriptor.TYPE_STRING,):
        return texts
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.sampled_from([0.0, -1.0, 0.5, 1e308, float("inf"), float("nan")])
    if t == FieldDescriptor.TYPE_ENUM:
        enum: Any = field.enum_type
        return st.sampled_from([v.number for v in enum.values])
    unsigned = t in (
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
    )
    wide = t in (
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    )
    values: tuple[int, ...] = INT64 if wide else INT32
    if unsigned:
        values = tuple(v for v in values if v >= 0)
    return st.one_of(st.sampled_from(values), st.integers(0 if unsigned else -5, 100))


@st.composite
def message_of(draw: st.DrawFn, descriptor: Any, depth: int = 0) -> dict[str, Any]:
    """A dict of field name to value for `descriptor`, ready for `_fill`."""
    values: dict[str, Any] = {}
    for field in descriptor.fields:
        if depth >= MAX_DEPTH or not draw(st.booleans()):
            continue
        entry = _map_entry(field)
        if entry is not None:
            key_field = entry.fields_by_name["key"]
            value_field = entry.fields_by_name["value"]
            values[field.name] = draw(
                st.dictionaries(_scalar(key_field), _value(value_field, depth), max_size=3)
            )
        elif field.is_repeated:
            values[field.name] = draw(st.lists(_value(field, depth), max_size=3))
        else:
            values[field.name] = draw(_value(field, depth))
    return values


def _map_entry(field: Any) -> Any:
    """The entry message of a map field; None for any other field."""
    entry: Any = field.message_type
    return entry if entry is not None and entry.GetOptions().map_entry else None


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_of(field.message_type, depth + 1)
    return _scalar(field)


def fill(message: Message, values: dict[str, Any]) -> Message:
    """Set `values` (from message_of) on `message`, in place; returns it."""
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name)
        entry = _map_entry(field)
        if entry is not None:
            value_field = entry.fields_by_name["value"]
            for k, v in value.items():
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    fill(target[k], v)
                else:
                    target[k] = v
        elif field.is_repeated:
            for item in value:
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    fill(target.add(), item)
                else:
                    target.append(item)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            fill(target, value)
        else:
            setattr(message, name, value)
    return message


@st.composite
def objects(draw: st.DrawFn, message: type[Message], namespace: str) -> Message:
    """An object of the kind `message`, with a valid name in `namespace` mostly."""
    obj = fill(message(), draw(message_of(message.DESCRIPTOR)))
    meta = obj.metadata  # type: ignore[attr-defined]
    if draw(st.integers(0, 9)) > 0:
        meta.name = draw(NAMES)
        meta.namespace = namespace
        meta.ClearField("resource_version")
        meta.ClearField("uid")
        meta.ClearField("deletion_timestamp")
        obj.api_version = kinds.of(obj).api_version  # type: ignore[attr-defined]
        obj.kind = kinds.of(obj).kind  # type: ignore[attr-defined]
    return obj
