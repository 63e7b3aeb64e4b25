"""What a request names: its object, its namespace and the resourceVersion it was based on.

Every verb starts here, and refuses what cannot be served before anything is read: bytes
that do not parse as the kind, fields this server does not know (a client built against
another API version would otherwise lose them silently), an apiVersion or kind that is
not the resource's, a namespace that contradicts the request's, a resourceVersion that is
not a revision.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from client import errors
from client.kinds import Kind, Object

__all__ = ["copy_of", "decode_request", "effective_namespace", "resource_version"]


def decode_request(kind: Kind, data: bytes) -> Object:
    """The object of a request; Invalid if the bytes do not parse or carry unknown fields."""
    obj: Any = kind.message()
    try:
        obj.ParseFromString(data)
    except DecodeError as e:
        raise errors.Invalid(f"the request's object is not a valid {kind.kind}: {e}") from None
    size = obj.ByteSize()
    obj.DiscardUnknownFields()
    # Unknown fields are rare: the C library finds whether there are any, and only then
    # does the Python walk over a fresh copy name them.
    unknown = _unknown_fields(_parsed(kind, data), "") if obj.ByteSize() != size else []
    if unknown:
        raise errors.Invalid(
            f"the request's {kind.kind} has fields this server does not know: "
            f"{', '.join(unknown)} (client and server API versions differ?)"
        )
    if obj.api_version and obj.api_version != kind.api_version:
        raise errors.Invalid(
            f'apiVersion: Invalid value: "{obj.api_version}": {kind.resource} are served as '
            f'"{kind.api_version}"'
        )
    if obj.kind and obj.kind != kind.kind:
        raise errors.Invalid(
            f'kind: Invalid value: "{obj.kind}": the resource {kind.resource} holds {kind.kind}'
        )
    obj.api_version = kind.api_version
    obj.kind = kind.kind
    result: Object = obj
    return result


def _parsed(kind: Kind, data: bytes) -> Message:
    obj: Message = kind.message()
    obj.ParseFromString(data)
    return obj


def _unknown_fields(msg: Message, path: str) -> list[str]:
    unknown: Any = UnknownFieldSet(msg)
    found = [f"{path + '.' if path else ''}#{f.field_number}" for f in unknown]
    for field, value in msg.ListFields():
        child = f"{path}.{field.name}" if path else field.name
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is not None:
                for k, v in value.items():
                    found += _unknown_fields(v, f"{child}[{k}]")
        elif field.is_repeated:
            for i, item in enumerate(value):
                found += _unknown_fields(item, f"{child}[{i}]")
        else:
            found += _unknown_fields(value, child)
    return found


def effective_namespace(kind: Kind, requested: str, obj: Object | None = None) -> str:
    """The namespace a request acts in; Invalid when the object says otherwise."""
    if not kind.namespaced:
        if obj is not None:
            obj.metadata.namespace = ""
        return ""
    own = obj.metadata.namespace if obj is not None else ""
    namespace = requested or own or "default"
    if own and own != namespace:
        raise errors.Invalid(
            f"metadata.namespace: Invalid value: {own!r}: the namespace of the object "
            f"does not match the namespace of the request ({namespace!r})"
        )
    if obj is not None:
        obj.metadata.namespace = namespace
    return namespace


def read_namespace(kind: Kind, requested: str) -> str:
    """The namespace a list or watch reads: the one named, or every one ("") when none is,
    where a write falls back to "default"."""
    return effective_namespace(kind, requested) if requested else ""


def resource_version(text: str) -> int:
    """A request's resourceVersion as a revision (0 when empty); Invalid if not a number."""
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise errors.Invalid(
            f"metadata.resourceVersion: Invalid value: {text!r}: must be a non-negative integer"
        )
    return value


def copy_of(obj: Object) -> Object:
    """A deep copy: the store never changes an object it was handed or has decoded."""
    copy: Any = type(obj)()
    copy.CopyFrom(obj)
    result: Object = copy
    return result
