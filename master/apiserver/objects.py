"""How objects are laid out in etcd and turned to and from bytes.

One key per object, `/registry/<resource>/<namespace>/<name>` (cluster-scoped kinds:
`/registry/<resource>/<name>`), whose value is the serialized message with an empty
resourceVersion: the version is etcd's mod_revision of the key, filled in on every read.
"""

from __future__ import annotations

from typing import Any

from client.kinds import Kind, Object, of
from master.apiserver import encryption

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
    """A stored object with its resourceVersion set to `revision` (decrypted when its
    resource is encrypted at rest, encryption.py)."""
    obj: Any = kind.message()
    transformer = encryption.current()
    if transformer.encrypts(kind.resource):
        value = transformer.from_storage(kind.resource, value)
    obj.ParseFromString(value)
    obj.metadata.resource_version = str(revision)
    result: Object = obj
    return result


def _plain(obj: Object) -> bytes:
    copy: Any = type(obj)()
    copy.CopyFrom(obj)
    copy.metadata.resource_version = ""
    return bytes(copy.SerializeToString(deterministic=True))


def same_content(obj: Object, other: Object) -> bool:
    """Whether the two would be stored as the same bytes (resourceVersion aside)."""
    return _plain(obj) == _plain(other)


def unchanged(obj: Object, stored: bytes) -> bool:
    """Whether writing `obj` would store what `stored` already holds. Compared in plaintext:
    an encrypted value differs on every write (a fresh nonce) even when nothing changed."""
    resource = of(obj).resource
    transformer = encryption.current()
    if transformer.encrypts(resource):
        try:
            stored = transformer.from_storage(resource, stored)
        except Exception:
            return False
    return _plain(obj) == stored


def encode_for_store(obj: Object) -> bytes:
    """The bytes stored in etcd: the object without its resourceVersion (encrypted when
    its resource is encrypted at rest)."""
    plain = _plain(obj)
    transformer = encryption.current()
    resource = of(obj).resource
    return transformer.to_storage(resource, plain) if transformer.encrypts(resource) else plain
