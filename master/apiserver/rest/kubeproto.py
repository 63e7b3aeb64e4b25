"""Kubernetes' protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded into
the same Kubernetes-shaped dict a JSON body gives.

kubectl's typed commands (`create configmap|secret|namespace|deployment|job|service`,
drain's evictions) send only this encoding and do not retry as JSON after a 415. Tugboat's
own protos are not Kubernetes' (other field numbers, strings for times and quantities), so
the body is read against Kubernetes' field numbers (master/apiserver/rest/kubewire.py) and
turned into JSON names; the dict then goes through the same strict decoding, defaults and
validation as any JSON body, so nothing about the object can differ by encoding.

The Go encoder writes every non-pointer field, empty or not: an empty value of a field
Tugboat does not have is dropped, a non-empty one stays and is refused by strict decoding
naming the field. Answers are always JSON, which these clients accept too.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from master.apiserver.rest.kubewire import GROUP_PACKAGES, MESSAGES

MAGIC = b"k8s\x00"
_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_VERSION_PACKAGES = {"autoscaling/v1": "k8s.io.api.autoscaling.v1"}
"""Versions served besides their group's own (kubectl 1.32's autoscale sends v1 HPAs)."""
_SIGNED = {"int32", "int64"}

Wire = int | bytes


class ProtobufError(ValueError):
    """A body that is not Kubernetes' protobuf encoding of a kind Tugboat knows."""


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ProtobufError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, Wire]]:
    """(number, wire type, value) of each field, in order."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        value: Wire
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            size, i = _varint(buf, i)
            if i + size > len(buf):
                raise ProtobufError(f"field {number} runs past the end of the body")
            value, i = buf[i : i + size], i + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, i = buf[i : i + width], i + width
        else:
            raise ProtobufError(f"field {number} has the unsupported wire type {wire}")
        yield number, wire, value


def unwrap(body: bytes) -> tuple[str, str, bytes]:
    """The apiVersion, kind and raw message of the `k8s\\0` envelope (runtime.Unknown)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with Kubernetes' protobuf prefix")
    api_version = kind = ""
    raw = b""
    for number, _wire, value in _fields(body[len(MAGIC) :]):
        if number == 1 and isinstance(value, bytes):
            for n, _w, v in _fields(value):
                if n == 1 and isinstance(v, bytes):
                    api_version = v.decode()
                elif n == 2 and isinstance(v, bytes):
                    kind = v.decode()
        elif number == 2 and isinstance(value, bytes):
            raw = value
        elif number == 3 and value:
            raise ProtobufError("compressed protobuf bodies are not supported")
    return api_version, kind, raw


def message_of(api_version: str, kind: str) -> str:
    """The full name of Kubernetes' message for apiVersion and kind."""
    group = api_version.rpartition("/")[0]
    package = _VERSION_PACKAGES.get(api_version) or GROUP_PACKAGES.get(group, "")
    for name in (f"{package}.{kind}", f"{_META}{kind}"):
        if name in MESSAGES:
            return name
    raise ProtobufError(f"{api_version} {kind} cannot be decoded from protobuf")


def decode(body: bytes) -> dict[str, Any]:
    """The object of a protobuf body as a Kubernetes-shaped dict, apiVersion and kind set."""
    api_version, kind, raw = unwrap(body)
    obj = decode_message(message_of(api_version, kind), raw)
    return {"apiVersion": api_version, "kind": kind, **obj} if kind else obj


def decode_message(name: str, buf: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    spec = MESSAGES[name]
    for number, wire, value in _fields(buf):
        field = spec.get(number)
        if field is None:
            if value:
                raise ProtobufError(f"field {number} of {name} is not known to Tugboat")
            continue
        json_name, label, kind = field
        if label == "map":
            key_kind, _, value_kind = kind.partition(":")
            entry = {n: v for n, _w, v in _fields(_bytes(value, json_name))}
            key = _scalar(key_kind, entry.get(1, b""), json_name)
            out.setdefault(json_name, {})[key] = _value(value_kind, entry.get(2, b""), json_name)
        elif label == "inline":
            out.update(decode_message(kind, _bytes(value, json_name)))
        elif label == "repeated":
            items = out.setdefault(json_name, [])
            if wire == 2 and kind not in ("string", "bytes") and kind not in MESSAGES:
                items.extend(_packed(kind, _bytes(value, json_name)))
            else:
                items.append(_value(kind, value, json_name))
        else:
            out[json_name] = _value(kind, value, json_name)
    return out


def _bytes(value: Wire, name: str) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError(f"{name}: expected a length-delimited value")
    return value


def _packed(kind: str, buf: bytes) -> Iterator[Any]:
    i = 0
    while i < len(buf):
        raw, i = _varint(buf, i)
        yield _scalar(kind, raw, "")


def _value(kind: str, value: Wire, name: str) -> Any:
    if kind in MESSAGES:
        return decode_message(kind, _bytes(value, name))
    if kind == "stringlist":
        # ExtraValue: a message of repeated `items` on the wire, the bare list in JSON.
        return [_scalar("string", v, name) for n, _w, v in _fields(_bytes(value, name)) if n == 1]
    special = _SPECIALS.get(kind)
    if special is not None:
        return special({n: v for n, _w, v in _fields(_bytes(value, name))})
    if "." in kind:
        # A message no Tugboat kind holds (an iSCSI volume, say): kept, empty or not, so
        # that strict decoding refuses it by its JSON name when it carries anything.
        return {"unsupported": True} if value else {}
    return _scalar(kind, value, name)


def _scalar(kind: str, value: Wire, name: str) -> Any:
    if kind == "string":
        return _bytes(value, name).decode()
    if kind == "bytes":
        return base64.b64encode(_bytes(value, name)).decode()
    if kind == "bool":
        return bool(value)
    if kind in ("double", "float"):
        return struct.unpack("<d" if kind == "double" else "<f", _bytes(value, name))[0]
    if isinstance(value, bytes):
        raise ProtobufError(f"{name}: expected a number")
    if kind in _SIGNED and value >= 1 << 63:
        return value - (1 << 64)
    return value


def _time(fields: dict[int, Wire]) -> str | None:
    seconds = fields.get(1, 0)
    if not isinstance(seconds, int) or not seconds:
        return None  # the zero time: not set
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(fields: dict[int, Wire]) -> str:
    value = fields.get(1, b"")
    return value.decode() if isinstance(value, bytes) else ""


def _int_or_string(fields: dict[int, Wire]) -> int | str:
    if fields.get(1, 0) == 1:
        value = fields.get(3, b"")
        return value.decode() if isinstance(value, bytes) else ""
    number = fields.get(2, 0)
    return _scalar("int32", number, "") if isinstance(number, int) else 0


_SPECIALS = {
    "time": _time,
    "quantity": _text,
    "duration": _text,
    "intorstring": _int_or_string,
}


def prune(data: Any, desc: Any) -> Any:
    """`data` without the empty values of fields the message descriptor `desc` does not
    have (the Go encoder writes them all); a non-empty one is kept for strict decoding to
    refuse by name."""
    if not isinstance(data, dict):
        return data
    fields = {f.json_name: f for f in desc.fields}
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if value is None:
            continue
        if field is None:
            if key in ("apiVersion", "kind") or _non_empty(value):
                out[key] = value
            continue
        inner = field.message_type
        if inner is not None and inner.GetOptions().map_entry:
            inner = inner.fields_by_name["value"].message_type
            if inner is not None and isinstance(value, dict):
                value = {k: prune(v, inner) for k, v in value.items()}
        elif inner is not None and isinstance(value, list):
            value = [prune(v, inner) for v in value]
        elif inner is not None:
            value = prune(value, inner)
        out[key] = value
    return out


def _non_empty(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_non_empty(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return bool(value)
