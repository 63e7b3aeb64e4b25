"""How objects are laid out in etcd and turned to and from bytes.

One key per object, `/registry/<resource>/<namespace>/<name>` (cluster-scoped kinds:
`/registry/<resource>/<name>`), whose value is the serialized message with an empty
resourceVersion: the version is etcd's mod_revision of the key, filled in on every read.
"""

from __future__ import annotations

import datetime
import random
import string
from collections.abc import Sequence
from typing import Any

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from client import errors
from client.codec import FieldError
from client.kinds import Kind, Object

ROOT = "/registry"


def object_key(kind: Kind, namespace: str, name: str) -> bytes:
    """The etcd key of one object."""
    if kind.namespaced:
        return f"{ROOT}/{kind.resource}/{namespace}/{name}".encode()
    return f"{ROOT}/{kind.resource}/{name}".encode()


def collection_prefix(kind: Kind, namespace: str = "") -> bytes:
    """The key prefix of every object of a kind, or of one namespace's objects."""
    if kind.namespaced and namespace:
        return f"{ROOT}/{kind.resource}/{namespace}/".encode()
    return f"{ROOT}/{kind.resource}/".encode()


def log_key(kind: Kind, namespace: str, name: str) -> str:
    """How logs name an object: "pods/default/web-1", "nodes/n1"."""
    return f"{kind.resource}/{namespace}/{name}" if namespace else f"{kind.resource}/{name}"


def now(offset_seconds: int = 0) -> str:
    """RFC 3339 UTC time to the second, as Kubernetes writes timestamps."""
    t = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


def generated_name(prefix: str) -> str:
    """generateName plus five random lowercase letters and digits."""
    return prefix + "".join(random.choices(_SUFFIX_ALPHABET, k=5))


def described(kind: Kind, name: str) -> str:
    """`Deployment.apps "web"`: how Kubernetes names an object in error messages."""
    qualified = f"{kind.kind}.{kind.group}" if kind.group else kind.kind
    return f'{qualified} "{name}"'


def resource_named(kind: Kind, name: str) -> str:
    """`deployments.apps "web"`: the resource spelling of NotFound and Conflict messages."""
    resource = f"{kind.resource}.{kind.group}" if kind.group else kind.resource
    return f'{resource} "{name}"'


def invalid(kind: Kind, name: str, problems: Sequence[FieldError]) -> errors.Invalid:
    """Kubernetes' Invalid message: `Kind.group "name" is invalid: path: detail; ...`."""
    details = "; ".join(f"{p.path}: {p.detail}" if p.path else p.detail for p in problems)
    return errors.Invalid(f"{described(kind, name)} is invalid: {details}")


def conflict(kind: Kind, name: str) -> errors.Conflict:
    return errors.Conflict(
        f"Operation cannot be fulfilled on {resource_named(kind, name)}: the object has been "
        "modified; please apply your changes to the latest version and try again"
    )


def not_found(kind: Kind, name: str) -> errors.NotFound:
    return errors.NotFound(f"{resource_named(kind, name)} not found")


def decode_request(kind: Kind, data: bytes) -> Object:
    """The object of a request; Invalid if the bytes do not parse or carry unknown fields."""
    obj: Any = kind.message()
    try:
        obj.ParseFromString(data)
    except DecodeError as e:
        raise errors.Invalid(f"the request's object is not a valid {kind.kind}: {e}") from None
    unknown = _unknown_fields(obj, "")
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


def decode_stored(kind: Kind, value: bytes, revision: int) -> Object:
    """A stored object with its resourceVersion set to `revision`."""
    obj: Any = kind.message()
    obj.ParseFromString(value)
    obj.metadata.resource_version = str(revision)
    result: Object = obj
    return result


def encode_for_store(obj: Object) -> bytes:
    """The bytes stored in etcd: the object without its resourceVersion."""
    copy: Any = type(obj)()
    copy.CopyFrom(obj)
    copy.metadata.resource_version = ""
    return bytes(copy.SerializeToString(deterministic=True))


def copy_of(obj: Object) -> Object:
    """A deep copy."""
    copy: Any = type(obj)()
    copy.CopyFrom(obj)
    result: Object = copy
    return result
