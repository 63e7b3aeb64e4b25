"""Writing an object whether or not it exists yet, as `kubectl apply` does for a test."""

from __future__ import annotations

from typing import Any

from client import kinds
from client.api import ApiClient
from client.errors import NotFound


async def put(api: ApiClient, obj: Any) -> Any:
    """Create `obj`, or replace the stored one of its name with it; the stored result."""
    resource = kinds.of(obj).resource
    try:
        current: Any = await api.get(resource, obj.metadata.namespace, obj.metadata.name)
    except NotFound:
        return await api.create(obj)
    obj.metadata.resource_version = current.metadata.resource_version
    return await api.update(obj)
