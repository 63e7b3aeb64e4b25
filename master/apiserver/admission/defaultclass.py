"""The default of a class kind (IngressClass, StorageClass): the newest annotated one.

Kubernetes' DefaultIngressClass and DefaultStorageClass admission plugins choose alike: the
classes whose default-class annotation is "true", the most recently created first, ties
broken by name; current Kubernetes no longer refuses the object when there are several.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["newest_default"]


def newest_default(classes: Iterable[Any], annotation: str) -> str | None:
    """The name of the default among `classes` (annotated `annotation: "true"`), or None."""
    defaults = [c for c in classes if c.metadata.annotations.get(annotation) == "true"]
    if not defaults:
        return None
    # Newest first; equal creation times: the name that sorts first.
    ordered = sorted(defaults, key=lambda c: c.metadata.name)
    ordered.sort(key=lambda c: c.metadata.creation_timestamp, reverse=True)
    return str(ordered[0].metadata.name)
