"""Which FlowSchema a request matches, and so its priority level and flow.

Matching is Kubernetes' to the letter, because administrators write FlowSchemas from its
documentation: schemas are tried by matchingPrecedence, then name, and the first whose
rule matches wins; a rule matches when one of its subjects does and one of its rules of
the request's kind (resource or non-resource) does. The quirks are kept too: a "*" in a
list counts only as that list's sole member, and a non-resource URL "/apis" also covers
everything below "/apis/", while "/healthz/*" does not cover "/healthz" itself.

No match means the configuration lacks its catch-all, which the dispatcher always
supplies; should it still happen, the request goes to the catch-all schema, as in
kube-apiserver.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from master.apiserver.flowcontrol.model import (
    ALL,
    CATCH_ALL,
    MANDATORY_CATCH_ALL_SCHEMA,
    FlowSchema,
    GroupSubject,
    NonResourceRule,
    PolicyRule,
    RequestDigest,
    ResourceRule,
    Subject,
    UserSubject,
)

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class FlowKey:
    """One flow: the requests of one schema that share a distinguisher value."""

    schema: str
    distinguisher: str

    def hash(self) -> int:
        """A stable 64-bit hash: the same flow is dealt the same queues on every server
        and after every restart."""
        digest = hashlib.sha256(
            self.schema.encode() + b"\x00" + self.distinguisher.encode()
        ).digest()
        return int.from_bytes(digest[:8], "little")


def _contains(value: str, listed: tuple[str, ...]) -> bool:
    # The wildcard stands for "everything" only as the list's sole member (validation
    # keeps it alone); otherwise it is just a string to compare.
    if len(listed) == 1 and listed[0] == ALL:
        return True
    return value in listed


def subject_matches(subject: Subject, user: str, groups: tuple[str, ...]) -> bool:
    if isinstance(subject, UserSubject):
        return subject.name in (ALL, user)
    if isinstance(subject, GroupSubject):
        return subject.name == ALL or subject.name in groups
    if subject.name == ALL:
        rest = user.removeprefix(SERVICE_ACCOUNT_PREFIX)
        return rest != user and rest.startswith(subject.namespace + ":")
    return user == f"{SERVICE_ACCOUNT_PREFIX}{subject.namespace}:{subject.name}"


def resource_rule_matches(rule: ResourceRule, digest: RequestDigest) -> bool:
    if not _contains(digest.verb, rule.verbs):
        return False
    resource = digest.resource
    if digest.subresource:
        resource = f"{resource}/{digest.subresource}"
    if not _contains(resource, rule.resources):
        return False
    if not _contains(digest.api_group, rule.api_groups):
        return False
    if not digest.namespace:
        return rule.cluster_scope
    return _contains(digest.namespace, rule.namespaces)


def non_resource_rule_matches(rule: NonResourceRule, digest: RequestDigest) -> bool:
    if not _contains(digest.verb, rule.verbs):
        return False
    for url in rule.non_resource_urls:
        if url in (ALL, digest.path):
            return True
        # Kubernetes treats every listed URL as a prefix of the paths below it, with or
        # without a trailing "*".
        prefix = url.removesuffix("*")
        if not prefix.endswith("/"):
            prefix += "/"
        if digest.path.startswith(prefix):
            return True
    return False


def policy_rule_matches(rule: PolicyRule, digest: RequestDigest) -> bool:
    if not any(subject_matches(s, digest.user, digest.groups) for s in rule.subjects):
        return False
    if digest.is_resource_request:
        return any(resource_rule_matches(r, digest) for r in rule.resource_rules)
    return any(non_resource_rule_matches(r, digest) for r in rule.non_resource_rules)


def schema_matches(schema: FlowSchema, digest: RequestDigest) -> bool:
    return any(policy_rule_matches(rule, digest) for rule in schema.rules)


def matching_order(schemas: Iterable[FlowSchema]) -> tuple[FlowSchema, ...]:
    """The order schemas are tried in: lowest matchingPrecedence first, then by name."""
    return tuple(sorted(schemas, key=lambda s: (s.matching_precedence, s.name)))


def flow_distinguisher(schema: FlowSchema, digest: RequestDigest) -> str:
    if schema.distinguisher == "ByUser":
        return digest.user
    if schema.distinguisher == "ByNamespace":
        return digest.namespace
    return ""


class Classifier:
    """Finds a request's FlowSchema among a fixed set (built anew on each configuration)."""

    def __init__(self, schemas: Iterable[FlowSchema]) -> None:
        self.schemas = matching_order(schemas)
        self._catch_all = next(
            (s for s in self.schemas if s.name == CATCH_ALL), MANDATORY_CATCH_ALL_SCHEMA
        )

    def schema_for(self, digest: RequestDigest) -> FlowSchema:
        for schema in self.schemas:
            if schema_matches(schema, digest):
                return schema
        return self._catch_all

    def flow_of(self, digest: RequestDigest) -> tuple[FlowSchema, FlowKey]:
        schema = self.schema_for(digest)
        return schema, FlowKey(schema.name, flow_distinguisher(schema, digest))
