"""A FlowSchema's `Dangling` condition: whether the priority level it names exists.

kube-apiserver's configuration consumer writes it, since a schema naming a missing level
is ignored (its requests fall through to the next schema) and a user needs to see why:
`kubectl get flowschemas` shows it as MISSINGPL. Every API server writes it; each write
is a guarded status update that only happens when the condition differs, so servers
agree after one round and never write again until the configuration changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from client.kinds import by_resource
from client.timestamps import now
from master.apiserver.flowcontrol.writing import attempt
from master.apiserver.registry import Registry

FLOW_SCHEMAS = by_resource("flowschemas")
DANGLING = "Dangling"


def wanted_condition(level: str, exists: bool) -> tuple[str, str, str]:
    """(status, reason, message) of the Dangling condition, in Kubernetes' words."""
    if exists:
        return (
            "False",
            "Found",
            f'This FlowSchema references the PriorityLevelConfiguration object named "{level}" '
            "and it exists",
        )
    return (
        "True",
        "NotFound",
        f'This FlowSchema references the PriorityLevelConfiguration object named "{level}" '
        "but there is no such object",
    )


def with_condition(schema: Any, levels: Mapping[str, Any]) -> Any | None:
    """`schema` with its Dangling condition brought up to date; None when it already is."""
    level = schema.spec.priority_level_configuration.name
    status, reason, message = wanted_condition(level, level in levels)
    current = next((c for c in schema.status.conditions if c.type == DANGLING), None)
    if current is not None and (current.status, current.reason, current.message) == (
        status,
        reason,
        message,
    ):
        return None
    updated: Any = type(schema)()
    updated.CopyFrom(schema)
    condition = next((c for c in updated.status.conditions if c.type == DANGLING), None)
    if condition is None:
        condition = updated.status.conditions.add(type=DANGLING)
    condition.status, condition.reason, condition.message = status, reason, message
    condition.last_transition_time = now()
    return updated


async def write_dangling(
    registry: Registry, schemas: Mapping[str, Any], levels: Mapping[str, Any]
) -> int:
    """Update each schema whose Dangling condition is out of date; how many were (or
    were found changed meanwhile: 0 means settled)."""
    written = 0
    for schema in list(schemas.values()):
        updated = with_condition(schema, levels)
        if updated is None:
            continue
        write = registry.update(FLOW_SCHEMAS, "", updated.SerializeToString(), subresource="status")
        key = f"flowschemas/{schema.metadata.name}"
        written += await attempt(write, key, "Dangling condition written", "condition refused")
    return written
