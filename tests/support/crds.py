"""The example Website CRD (examples/operator/) as tests use it: its manifest, its
message, and its kind served in this process for the length of a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from client import customkinds
from client.codec import from_dict
from proto import apiextensions_pb2

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "operator"
CRD_FILE = EXAMPLE / "crd.yaml"


def website_crd(**spec: Any) -> apiextensions_pb2.CustomResourceDefinition:
    """The example CRD, with `spec` fields replaced."""
    data = yaml.safe_load(CRD_FILE.read_text())
    data["spec"].update(spec)
    return from_dict(apiextensions_pb2.CustomResourceDefinition, data)


@contextmanager
def serving(crd: apiextensions_pb2.CustomResourceDefinition) -> Iterator[customkinds.CustomKind]:
    """The CRD's kind in this process's kind table, taken out again afterwards."""
    kind = customkinds.serve(crd)
    assert kind is not None
    try:
        yield kind
    finally:
        customkinds.stop(kind.resource)
