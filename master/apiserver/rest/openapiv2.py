"""`/openapi/v2`: a Swagger 2.0 document without definitions, so that kubectl names a
kind the server does not serve instead of failing to download a schema.

kubectl 1.27 and later validate a manifest against `/openapi/v3` (openapi.py). When a
manifest's group-version-kind is not there (a removed version such as
`batch/v1beta1` CronJob, a kind Tugboat does not have, a CRD not yet made) kubectl asks
`/openapi/v2` next; a 404 there makes it stop with "failed to download openapi ... turn
validation off", which says nothing of the real fault. Given a document that holds no
schema for the kind, it skips its own validation and goes on to the REST mapping, which
fails as Kubernetes' does: `no matches for kind "CronJob" in version "batch/v1beta1"`.

The document is honest about what it carries (every schema is in v3, where kubectl looks
first): it has no paths and no definitions. kubectl asks for gnostic's protobuf form
(`openapi_v2.Document`); three fields of it are written here by hand rather than
vendoring its 1,000-line proto for them. Other clients get the same document as JSON.
"""

from __future__ import annotations

import functools
import json

PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# The answer's type, as kube-apiserver writes it: Go's mime parser refuses the "@" that
# clients ask with.
PROTOBUF_ANSWER = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_TITLE = "Kubernetes"


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


@functools.cache
def protobuf(version: str) -> bytes:
    """`openapi_v2.Document{swagger: "2.0", info: {title, version}, paths: {}}`."""
    info = _field(1, _TITLE.encode()) + _field(2, version.encode())
    return _field(1, b"2.0") + _field(2, info) + _field(8, b"")


@functools.cache
def document(version: str) -> str:
    """The same document as Swagger 2.0 JSON."""
    body = {"swagger": "2.0", "info": {"title": _TITLE, "version": version}, "paths": {}}
    return json.dumps(body)


def wants_protobuf(accept: str) -> bool:
    """Whether an Accept header asks for the protobuf form (kubectl's discovery client)."""
    return any(part.split(";")[0].strip() == PROTOBUF for part in accept.split(","))
