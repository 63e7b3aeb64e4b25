"""Delete, as Kubernetes does it: at once, or marked and kept until someone lets it go.

An object leaves the store at once unless something must happen first:
- it has finalizers (a propagation policy adds `foregroundDeletion` or `orphan`): it gets
  a deletionTimestamp and stays until an Update empties its finalizers;
- it is a pod bound to a node: it gets deletionTimestamp = now + grace and
  deletionGracePeriodSeconds, and stays until the node confirms with grace 0;
- it is a namespace that still holds objects: it turns Terminating, and the namespace
  controller empties it and deletes it again.
"""

from __future__ import annotations

from typing import Any

import structlog

from client import errors
from client.kinds import KINDS, Kind, Object
from master.apiserver import objects
from master.apiserver.allocators import release_ops
from master.apiserver.etcd import Etcd, compare_mod, compare_version, op_delete, op_put, prefix_end
from master.apiserver.objects import (
    conflict,
    copy_of,
    decode_stored,
    encode_for_store,
    not_found,
    object_key,
)
from master.apiserver.registry import (
    NAMESPACES,
    PODS,
    RETRIES,
    effective_namespace,
    resource_version,
)
from master.apiserver.writes import guarded
from proto import api_pb2

log = structlog.get_logger("apiserver.deletion")

DEFAULT_GRACE_SECONDS = 30
PERMANENT_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
_POLICY_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}


def pod_grace(pod: Any, requested: int | None) -> int:
    """The grace period a pod's deletion gets; 0 when no node runs it."""
    if not pod.spec.node_name or pod.status.phase in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return requested
    if pod.spec.HasField("termination_grace_period_seconds"):
        return int(pod.spec.termination_grace_period_seconds)
    return DEFAULT_GRACE_SECONDS


def _apply_policy(obj: Object, policy: str) -> None:
    if policy in ("", "Background"):
        return
    if policy not in _POLICY_FINALIZERS:
        raise errors.Invalid(
            f"propagationPolicy: Unsupported value: {policy!r}: supported values: "
            '"Background", "Foreground", "Orphan"'
        )
    finalizers = obj.metadata.finalizers
    wanted = _POLICY_FINALIZERS[policy]
    for other in _POLICY_FINALIZERS.values():
        if other != wanted and other in finalizers:
            finalizers.remove(other)
    if wanted not in finalizers:
        finalizers.append(wanted)


def _marked(kind: Kind, current: Object, grace: int | None, policy: str) -> tuple[Object, bool]:
    """The object with its deletion recorded, and whether it may leave the store now."""
    obj: Any = copy_of(current)
    meta = obj.metadata
    _apply_policy(obj, policy)
    if kind is PODS:
        seconds = pod_grace(obj, grace)
        pending = meta.deletion_grace_period_seconds if meta.deletion_timestamp else None
        # A second delete may shorten the grace period, never lengthen it.
        if pending is None or seconds < pending:
            meta.deletion_timestamp = objects.now(seconds)
            meta.deletion_grace_period_seconds = seconds
        return obj, meta.deletion_grace_period_seconds == 0 and not meta.finalizers
    if not meta.deletion_timestamp:
        meta.deletion_timestamp = objects.now()
        meta.deletion_grace_period_seconds = 0
    if kind is NAMESPACES:
        obj.status.phase = "Terminating"
    return obj, not meta.finalizers


def _namespace_empty(namespace: str) -> list[Any]:
    """Compares that hold only while no namespaced object lives in `namespace`."""
    compares = []
    for kind in KINDS:
        if kind.namespaced:
            prefix = objects.collection_prefix(kind, namespace)
            # Over a range, version == 0 holds only when the range has no key at all.
            compares.append(compare_version(prefix, "==", 0, prefix_end(prefix)))
    return compares


class Deleter:
    """The Delete verb."""

    def __init__(self, etcd: Etcd) -> None:
        self.etcd = etcd

    async def delete(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str = "",
        precondition_uid: str = "",
        precondition_resource_version: str = "",
        fence: api_pb2.Fence | None = None,
    ) -> Object:
        """The object as deleted, or as marked for deletion when it must stay a while."""
        if grace_period_seconds is not None and grace_period_seconds < 0:
            raise errors.Invalid(
                f"gracePeriodSeconds: Invalid value: {grace_period_seconds}: must be >= 0"
            )
        if kind is NAMESPACES and name in PERMANENT_NAMESPACES:
            raise errors.Forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted'
            )
        ns = effective_namespace(kind, namespace)
        key = object_key(kind, ns, name)
        expected = resource_version(precondition_resource_version)
        for _ in range(RETRIES):
            kv, _ = await self.etcd.get(key)
            if kv is None:
                raise not_found(kind, name)
            current = decode_stored(kind, kv.value, kv.mod_revision)
            if precondition_uid and precondition_uid != current.metadata.uid:
                raise errors.Conflict(
                    f"Precondition failed: UID in precondition: {precondition_uid}, "
                    f"UID in object meta: {current.metadata.uid}"
                )
            if expected and expected != kv.mod_revision:
                raise errors.Conflict(
                    f"Precondition failed: ResourceVersion in precondition: {expected}, "
                    f"ResourceVersion in object meta: {kv.mod_revision}"
                )
            marked, gone = _marked(kind, current, grace_period_seconds, propagation_policy)
            compares = [compare_mod(key, kv.mod_revision)]
            result: Object | None = None
            if gone:
                empty = _namespace_empty(name) if kind is NAMESPACES else []
                outcome = await guarded(
                    self.etcd, key, compares + empty, [op_delete(key), *release_ops(current)], fence
                )
                if outcome.succeeded:
                    log.debug("deleted", key=objects.log_key(kind, ns, name))
                    result = marked
                elif kind is NAMESPACES and outcome.current is not None and (
                    outcome.current.mod_revision == kv.mod_revision
                ):
                    gone = False  # not empty yet: mark it Terminating instead
            if not gone:
                if encode_for_store(marked) == kv.value:
                    return current
                outcome = await guarded(
                    self.etcd, key, compares, [op_put(key, encode_for_store(marked))], fence
                )
                if outcome.succeeded:
                    log.debug(
                        "marked for deletion",
                        key=objects.log_key(kind, ns, name),
                        grace=marked.metadata.deletion_grace_period_seconds,
                        finalizers=list(marked.metadata.finalizers),
                    )
                    result = marked
            if result is not None:
                result.metadata.resource_version = str(outcome.revision)
                return result
            if outcome.current is None:
                raise not_found(kind, name)
            if expected:
                raise conflict(kind, name)
        raise conflict(kind, name)
