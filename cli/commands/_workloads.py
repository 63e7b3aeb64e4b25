"""What the rollout, scale and set commands share: naming a workload and updating it safely."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cli.errors import CliError
from client import errors, kinds
from client.api import ApiClient
from client.kinds import Kind, Object

CONFLICT_RETRIES = 5
"""Read-modify-write attempts before giving up on a busy object."""


def target(words: list[str], allowed: tuple[str, ...]) -> tuple[Kind, str]:
    """`KIND/NAME` or `KIND NAME`, for one of the `allowed` resources."""
    if len(words) == 1 and "/" in words[0]:
        kind_name, _, name = words[0].partition("/")
    elif len(words) == 2 and "/" not in words[0]:
        kind_name, name = words
    else:
        raise CliError("expected one resource as TYPE/NAME or TYPE NAME (e.g. deploy/web)")
    try:
        kind = kinds.resolve(kind_name)
    except kinds.UnknownKindError as e:
        raise CliError(str(e)) from None
    if kind.resource not in allowed:
        raise CliError(f"{kind.resource} are not supported here (supported: {', '.join(allowed)})")
    if not name:
        raise CliError("a resource name is required")
    return kind, name


def label(kind: Kind, name: str) -> str:
    """kubectl's `deployment.apps/web`."""
    return f"{kind.qualified}/{name}"


async def get(api: ApiClient, kind: Kind, namespace: str, name: str) -> Any:
    """The object, or a CliError saying it is not found."""
    try:
        return await api.get(kind.resource, namespace if kind.namespaced else "", name)
    except errors.NotFound:
        group = f".{kind.group}" if kind.group else ""
        raise CliError(f'{kind.resource}{group} "{name}" not found') from None


async def modify(
    api: ApiClient,
    kind: Kind,
    namespace: str,
    name: str,
    change: Callable[[Any], bool],
) -> tuple[Object, bool]:
    """Read, `change` (False: nothing to do), write guarded; re-read on Conflict."""
    for _ in range(CONFLICT_RETRIES):
        obj = await get(api, kind, namespace, name)
        if not change(obj):
            return obj, False
        try:
            return await api.update(obj), True
        except errors.Conflict:
            continue
        except errors.Invalid as e:
            raise CliError(e.message) from None
    raise CliError(f"{label(kind, name)}: the object kept changing; try again")
