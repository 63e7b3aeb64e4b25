"""From stored FlowSchemas and PriorityLevelConfigurations to the dispatcher's model.

Kubernetes' rules for what the dispatcher is given: a schema that names a level that
does not exist is left out (its requests go on to the next schema that matches; its
Dangling condition says why), and the objects are read as validation left them, so
nothing here refuses anything. Fields that defaulting fills are read with the same
defaults, in case an object was stored before it had them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from master.apiserver.flowcontrol import model

DEFAULT_SHARES = 30
"""v1's default nominalConcurrencyShares of a Limited level."""


def _subject(subject: Any) -> model.Subject | None:
    if subject.kind == "User":
        return model.UserSubject(subject.user.name)
    if subject.kind == "Group":
        return model.GroupSubject(subject.group.name)
    if subject.kind == "ServiceAccount":
        sa = subject.service_account
        return model.ServiceAccountSubject(sa.namespace, sa.name)
    return None


def _rule(rule: Any) -> model.PolicyRule:
    subjects = tuple(s for s in map(_subject, rule.subjects) if s is not None)
    return model.PolicyRule(
        subjects,
        tuple(
            model.ResourceRule(
                verbs=tuple(r.verbs),
                api_groups=tuple(r.api_groups),
                resources=tuple(r.resources),
                cluster_scope=r.cluster_scope,
                namespaces=tuple(r.namespaces),
            )
            for r in rule.resource_rules
        ),
        tuple(
            model.NonResourceRule(
                verbs=tuple(r.verbs), non_resource_urls=tuple(r.non_resource_urls)
            )
            for r in rule.non_resource_rules
        ),
    )


def flow_schema(obj: Any) -> model.FlowSchema:
    """The dispatcher's view of a stored FlowSchema."""
    spec = obj.spec
    method = spec.distinguisher_method.type if spec.HasField("distinguisher_method") else ""
    distinguisher: model.Distinguisher = (
        "ByUser" if method == "ByUser" else "ByNamespace" if method == "ByNamespace" else None
    )
    return model.FlowSchema(
        name=obj.metadata.name,
        priority_level=spec.priority_level_configuration.name,
        matching_precedence=spec.matching_precedence or 1000,
        distinguisher=distinguisher,
        rules=tuple(_rule(r) for r in spec.rules),
        uid=obj.metadata.uid,
    )


def priority_level(obj: Any) -> model.PriorityLevel:
    """The dispatcher's view of a stored PriorityLevelConfiguration."""
    spec = obj.spec
    name, uid = obj.metadata.name, obj.metadata.uid
    if spec.type == "Exempt":
        exempt = spec.exempt
        return model.PriorityLevel(
            name=name,
            exempt=True,
            nominal_concurrency_shares=exempt.nominal_concurrency_shares,
            lendable_percent=exempt.lendable_percent,
            uid=uid,
        )
    limited = spec.limited
    queuing = None
    response = limited.limit_response
    if response.type == "Queue":
        q = response.queuing
        queuing = model.Queuing(
            queues=q.queues or 64,
            hand_size=q.hand_size or 8,
            queue_length_limit=q.queue_length_limit or 50,
        )
    return model.PriorityLevel(
        name=name,
        nominal_concurrency_shares=(
            limited.nominal_concurrency_shares
            if limited.HasField("nominal_concurrency_shares")
            else DEFAULT_SHARES
        ),
        lendable_percent=limited.lendable_percent,
        borrowing_limit_percent=(
            limited.borrowing_limit_percent if limited.HasField("borrowing_limit_percent") else None
        ),
        queuing=queuing,
        uid=uid,
    )


def digest(
    schemas: Mapping[str, Any], levels: Mapping[str, Any]
) -> tuple[list[model.FlowSchema], list[model.PriorityLevel]]:
    """The schemas and levels to dispatch by: dangling schemas left out."""
    made_levels = [priority_level(o) for o in levels.values()]
    known = {level.name for level in made_levels}
    made_schemas = [
        flow_schema(o)
        for o in schemas.values()
        if o.spec.priority_level_configuration.name in known
    ]
    return made_schemas, made_levels
