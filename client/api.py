"""The async API client: typed verbs over the generic resource service, with fail-over.

STUB: interface fixed, body to be written (owner: client work).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from client.kinds import Object
from proto import api_pb2

O = TypeVar("O", bound=Object)


@dataclass
class ObjectList:
    """One page of a List: items, the list's resourceVersion and the continue token."""

    items: list[Object]
    resource_version: str
    continue_token: str = ""
    remaining_item_count: int = 0


@dataclass
class WatchEvent:
    """ADDED, MODIFIED, DELETED or BOOKMARK, with the object as of that revision."""

    type: str
    object: Object | None
    resource_version: str


@dataclass
class ClientOptions:
    timeout: float = 10.0
    """Deadline of each unary call, in seconds."""
    max_retries: int = 5
    """Attempts of an idempotent call across endpoints before Unavailable is raised."""
    user_agent: str = "tugboat"
    fence: api_pb2.Fence | None = field(default=None)
    """Attached to every write when set (leader-only components)."""


class ApiClient:
    """Talks to a list of API servers, failing over on UNAVAILABLE.

    Errors are raised as `client.errors.ApiError` subclasses.
    """

    def __init__(self, endpoints: Sequence[str], options: ClientOptions | None = None) -> None:
        raise NotImplementedError

    @property
    def endpoint(self) -> str:
        """The API server in use now ("host:port")."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def create(self, obj: O, *, dry_run: bool = False) -> O:
        raise NotImplementedError

    async def get(self, resource: str, namespace: str, name: str) -> Object:
        """`resource` is the plural ("pods"); namespace "" for cluster-scoped kinds."""
        raise NotImplementedError

    async def list(
        self,
        resource: str,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
    ) -> ObjectList:
        """One page (all objects when limit is 0); namespace "" lists every namespace."""
        raise NotImplementedError

    async def update(self, obj: O, *, dry_run: bool = False) -> O:
        """Guarded by obj.metadata.resourceVersion: a stale one raises Conflict."""
        raise NotImplementedError

    async def update_status(self, obj: O) -> O:
        raise NotImplementedError

    async def delete(
        self,
        resource: str,
        namespace: str,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str = "",
        precondition_uid: str = "",
        precondition_resource_version: str = "",
    ) -> Object:
        """The object as deleted, or with deletionTimestamp set when deletion is graceful."""
        raise NotImplementedError

    def watch(
        self,
        resource: str,
        namespace: str = "",
        *,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> AsyncIterator[WatchEvent]:
        """Events after resource_version, resumed on another API server if one fails.

        Raises Gone when the revision has been compacted.
        """
        raise NotImplementedError
