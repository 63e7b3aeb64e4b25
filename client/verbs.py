"""What a component needs of the API client, one narrow Protocol per group of verbs.

Code that takes an API client names only the verbs it calls (an informer lists and
watches; a pod worker gets, writes status and deletes), so a test can hand it a small
double, and a reader sees at a glance what the code may do. ApiClient has every one of
these shapes; they are declared here once and imported, never retyped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol, TypedDict, TypeVar, Unpack, runtime_checkable

from client.kinds import Object

if TYPE_CHECKING:
    from client.api import ObjectList, WatchEvent

__all__ = [
    "DeleteOptions",
    "Deleter",
    "Getter",
    "Lister",
    "ListerWatcher",
    "StatusWriter",
    "Updater",
    "Watcher",
]

O = TypeVar("O", bound=Object)  # noqa: E741 (the stub's name)


class Getter(Protocol):
    async def get(self, resource: str, namespace: str, name: str) -> Object:
        """One object; NotFound when there is none."""
        ...


@runtime_checkable
class Lister(Protocol):
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
        """One page of objects at one revision."""
        ...


class VersionedLister(Protocol):
    """A list that may name the revision it must not be older than (a reconnecting
    kubelet's, answered from the API server's watch cache)."""

    async def list(
        self,
        resource: str,
        namespace: str = "",
        *,
        field_selector: str = "",
        resource_version: str = "",
        resource_version_match: str = "",
    ) -> ObjectList:
        """Objects at a revision not older than `resource_version` ("": the newest)."""
        ...


class Watcher(Protocol):
    def watch(
        self,
        resource: str,
        namespace: str = "",
        *,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent]:
        """Changes after `resource_version`, resumed across fail-overs."""
        ...


class ListerWatcher(Lister, Watcher, Protocol):
    """What an informer needs."""


class Updater(Protocol):
    async def update(self, obj: O, *, dry_run: bool = False) -> O:
        """Replace an object, guarded by its resourceVersion."""
        ...


class StatusWriter(Getter, Protocol):
    """Read an object and write its status (a controller's or a kubelet's status loop)."""

    async def update_status(self, obj: O) -> O:
        """Write only the object's status, guarded by its resourceVersion."""
        ...


class DeleteOptions(TypedDict, total=False):
    """How a Delete goes about it, each optional: declared once for every delete verb.

    grace_period_seconds: None (the default) leaves it to the server (the object's own).
    propagation_policy: "" (the default) leaves it to the server's default.
    precondition_uid, precondition_resource_version: "" (the default) checks nothing;
    else the Delete is refused unless the object still has that value.
    eviction: pods only; the pod's PodDisruptionBudget must allow it (TooManyRequests,
    with retry_after 0, when it does not now).
    """

    grace_period_seconds: int | None
    propagation_policy: str
    precondition_uid: str
    precondition_resource_version: str
    eviction: bool


class Deleter(Protocol):
    async def delete(
        self, resource: str, namespace: str, name: str, **options: Unpack[DeleteOptions]
    ) -> Object:
        """Delete (or mark for graceful deletion) an object."""
        ...
