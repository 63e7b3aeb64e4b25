"""How objects are laid out in etcd and turned to and from bytes.

One key per object, `/registry/<resource>/<namespace>/<name>` (cluster-scoped kinds:
`/registry/<resource>/<name>`), whose value is the serialized message with an empty
resourceVersion: the version is etcd's mod_revision of the key, filled in on every read.
"""

from __future__ import annotations

from typing import Any

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
