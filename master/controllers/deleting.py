"""Deleting the very object a controller saw in its cache, never a namesake made since.

Every delete a controller makes is preconditioned on the uid it saw: by the time the
request arrives the name may belong to a new object (a Job recreated under the same name)
that the controller has not yet seen and must not touch. An object already gone is what
the controller wanted, so it is an answer, not an error.
"""

from __future__ import annotations

from client.api import ApiClient
from client.errors import Conflict, NotFound
from client.kinds import Object


async def delete_exact(
    client: ApiClient,
    resource: str,
    obj: Object,
    *,
    grace_period_seconds: int | None = None,
    propagation_policy: str = "",
    or_replaced: bool = False,
) -> bool:
    """Delete `obj` (guarded by its uid); False when it was gone already.

    With `or_replaced` also False when its name now holds another object (the uid
    precondition's Conflict); without, that Conflict is raised.
    """
    gone: tuple[type[Exception], ...] = (NotFound, Conflict) if or_replaced else (NotFound,)
    try:
        await client.delete(
            resource,
            obj.metadata.namespace,
            obj.metadata.name,
            grace_period_seconds=grace_period_seconds,
            propagation_policy=propagation_policy,
            precondition_uid=obj.metadata.uid,
        )
    except gone:
        return False
    return True
