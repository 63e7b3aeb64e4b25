"""Keeping Kubernetes' built-in FlowSchemas and PriorityLevelConfigurations in the store,
as kube-apiserver's configuration ensurer does.

Every API server runs it at start and whenever the configuration changes; the writes are
guarded transactions, so servers that race agree and the loser simply finds the work done.
The rules are Kubernetes':

- a missing built-in object, mandatory or suggested, is created (deleting one is not
  durable: an administrator who wants it different changes it and turns auto-update off);
- a mandatory object's spec is put back whenever it differs, except the `exempt` level's
  shares and lendable percent, which an administrator may set;
- a suggested object's spec is put back when the object says it may be, by the
  `apf.kubernetes.io/autoupdate-spec` annotation, or, without a readable annotation, when
  it was never changed (generation 1);
- an object that asks for auto-update but is not built in is deleted: it is what a
  previous release suggested and this one no longer does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from client.codec import from_dict
from client.kinds import Kind, by_resource
from master.apiserver.deletion import Deleter
from master.apiserver.flowcontrol import bootstrap
from master.apiserver.flowcontrol.writing import attempt
from master.apiserver.registry import Registry
from master.apiserver.strategies import strategy_for

FLOW_SCHEMAS = by_resource("flowschemas")
PRIORITY_LEVELS = by_resource("prioritylevelconfigurations")


@dataclass(frozen=True)
class Wanted:
    """One built-in object, decoded and defaulted as the store would keep it."""

    kind: Kind
    obj: Any
    mandatory: bool


def _decoded(kind: Kind, data: dict[str, Any], mandatory: bool) -> Wanted:
    obj: Any = from_dict(kind.message, data)
    strategy = strategy_for(kind)
    strategy.canonicalize(obj)
    strategy.apply_defaults(obj)
    return Wanted(kind, obj, mandatory)


def built_in() -> list[Wanted]:
    """Every built-in object: levels before the schemas that name them."""
    return [
        *(_decoded(PRIORITY_LEVELS, d, True) for d in bootstrap.mandatory_levels()),
        *(_decoded(PRIORITY_LEVELS, d, False) for d in bootstrap.suggested_levels()),
        *(_decoded(FLOW_SCHEMAS, d, True) for d in bootstrap.mandatory_schemas()),
        *(_decoded(FLOW_SCHEMAS, d, False) for d in bootstrap.suggested_schemas()),
    ]


def may_update_spec(obj: Any) -> bool:
    """Kubernetes' rule for a suggested object's spec: the annotation when it reads as a
    boolean, else whether nobody has changed the object since it was made."""
    value = obj.metadata.annotations.get(bootstrap.AUTO_UPDATE)
    parsed = _bool(value) if value is not None else None
    if parsed is not None:
        return parsed
    return bool(obj.metadata.generation == 1)


def _bool(text: str) -> bool | None:
    # Go's strconv.ParseBool, which the annotation is read with.
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def wanted_spec(want: Wanted, found: Any) -> Any:
    """The spec `found` should have: the built-in one, keeping what an administrator may
    set on the mandatory `exempt` level."""
    spec: Any = type(want.obj.spec)()
    spec.CopyFrom(want.obj.spec)
    if want.kind is PRIORITY_LEVELS and want.obj.metadata.name == bootstrap.EXEMPT:
        if found.spec.type == "Exempt" and found.spec.HasField("exempt"):
            spec.exempt.CopyFrom(found.spec.exempt)
    return spec


class Ensurer:
    """Creates, restores and removes built-in objects through the API server's registry."""

    def __init__(self, registry: Registry, deleter: Deleter) -> None:
        self.registry = registry
        self.deleter = deleter
        self.built_in = built_in()

    async def ensure(self, schemas: Mapping[str, Any], levels: Mapping[str, Any]) -> int:
        """Bring the store to the built-in configuration, given what it holds now; how
        many writes that took or found the store otherwise than it was told (0: settled)."""
        found = {FLOW_SCHEMAS.resource: schemas, PRIORITY_LEVELS.resource: levels}
        names: dict[str, set[str]] = {FLOW_SCHEMAS.resource: set(), PRIORITY_LEVELS.resource: set()}
        written = 0
        for want in self.built_in:
            name = want.obj.metadata.name
            names[want.kind.resource].add(name)
            written += await self._ensure_one(want, found[want.kind.resource].get(name))
        for kind in (FLOW_SCHEMAS, PRIORITY_LEVELS):
            written += await self._remove_unwanted(
                kind, found[kind.resource].values(), names[kind.resource]
            )
        return written

    async def _ensure_one(self, want: Wanted, found: Any | None) -> int:
        key = f"{want.kind.resource}/{want.obj.metadata.name}"
        if found is None:
            created = self.registry.create(want.kind, "", want.obj.SerializeToString())
            return await attempt(created, key, "built-in object created", "creation refused")
        if not want.mandatory and not may_update_spec(found):
            return 0
        spec = wanted_spec(want, found)
        if found.spec == spec:
            return 0
        updated: Any = type(found)()
        updated.CopyFrom(found)
        updated.spec.CopyFrom(spec)
        updated.metadata.annotations[bootstrap.AUTO_UPDATE] = "true"
        restored = self.registry.update(want.kind, "", updated.SerializeToString())
        return await attempt(restored, key, "built-in object restored", "restoring refused")

    async def _remove_unwanted(self, kind: Kind, objects: Iterable[Any], keep: set[str]) -> int:
        removed = 0
        for obj in list(objects):
            name = obj.metadata.name
            asks = _bool(obj.metadata.annotations.get(bootstrap.AUTO_UPDATE, ""))
            if name in keep or asks is not True:
                continue
            deleted = self.deleter.delete(kind, "", name, precondition_uid=obj.metadata.uid)
            removed += await attempt(
                deleted,
                f"{kind.resource}/{name}",
                "no longer built in, deleted",
                "deletion refused",
            )
        return removed
