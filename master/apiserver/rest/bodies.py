"""Request bodies, decoded the one way every route reads them: JSON, YAML or Kubernetes' protobuf.

kubectl's typed clients send protobuf (`application/vnd.kubernetes.protobuf`) and never
fall back to JSON, so every route that takes a body, the generic store's and the
special groups' (autoscaling/v1, the access reviews), decodes it here, with the same
400 naming what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from client.kinds import Kind
from master.apiserver.rest import kubeproto
from master.apiserver.rest.status import HttpError

PROTOBUF = "application/vnd.kubernetes.protobuf"


def request_body(raw: bytes, content_type: str, kind: Kind | None = None) -> Any:
    """The request body as a dict: JSON, YAML or Kubernetes' protobuf (then, for a stored
    kind, without the empty fields Go writes that Tugboat does not have)."""
    if content_type == PROTOBUF:
        try:
            data = kubeproto.decode(raw)
        except kubeproto.ProtobufError as e:
            raise HttpError("BadRequest", f"the protobuf body could not be decoded: {e}") from None
        return kubeproto.prune(data, kind.message.DESCRIPTOR) if kind is not None else data
    text = raw.decode(errors="replace")
    if not text.strip():
        raise HttpError("BadRequest", "the request has no body")
    try:
        if content_type.endswith("yaml"):
            return yaml.safe_load(text)
        return json.loads(text)
    except (ValueError, yaml.YAMLError) as e:
        raise HttpError(
            "BadRequest", f"the request body is not valid {content_type}: {e}"
        ) from None
