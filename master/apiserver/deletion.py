"""Delete, as Kubernetes does it: at once, or marked and kept until someone lets it go.

An object leaves the store at once unless something must happen first:
- it has finalizers (a propagation policy adds `foregroundDeletion` or `orphan`): it gets
  a deletionTimestamp and stays until an Update empties its finalizers;
- it is a pod bound to a node: it gets deletionTimestamp = now + grace and
  deletionGracePeriodSeconds, and stays until the node confirms with grace 0;
- it is a namespace that still holds objects: it turns Terminating, and the namespace
  controller empties it and deletes it again.

How a kind is marked, whether it may leave at once and what must still hold when it does
are its strategy's (strategies/); this module is the verb's phases alone.
"""

from __future__ import annotations

import structlog

from client import errors
from client.kinds import Kind, Object
from master.apiserver.admission.matching import Write
from master.apiserver.admission.policies import PolicyAdmission
from master.apiserver.admission.webhooks import WebhookAdmission
from master.apiserver.apierrors import conflict, not_found
from master.apiserver.etcd import Etcd, compare_mod, op_delete, op_put
from master.apiserver.objects import (
    decode_stored,
    encode_for_store,
    log_key,
    object_key,
    unchanged,
)
from master.apiserver.registry import RETRIES
from master.apiserver.requests import copy_of, effective_namespace, resource_version
from master.apiserver.strategies import strategy_for
from master.apiserver.writes import check_retry, guarded
from proto import api_pb2

log = structlog.get_logger("apiserver.deletion")


class Deleter:
    """The Delete verb."""

    def __init__(
        self,
        etcd: Etcd,
        policies: PolicyAdmission | None = None,
        webhooks: WebhookAdmission | None = None,
    ) -> None:
        self.etcd = etcd
        self.policies = policies
        self.webhooks = webhooks
        """ValidatingAdmissionPolicies, which see a DELETE as its old object alone."""

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
        strategy = strategy_for(kind)
        strategy.check_delete(name)
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
            write = Write(kind, "DELETE", ns, name, None, current)
            if self.policies is not None:
                await self.policies.check(write)
            if self.webhooks is not None:
                await self.webhooks.validate(write)
            marked = copy_of(current)
            gone = strategy.mark_deleted(marked, grace_period_seconds, propagation_policy)
            compares = [compare_mod(key, kv.mod_revision)]
            result: Object | None = None
            if gone:
                outcome = await guarded(
                    self.etcd,
                    key,
                    compares + strategy.delete_compares(name),
                    [op_delete(key), *strategy.release_ops(current)],
                    fence,
                )
                if outcome.succeeded:
                    log.debug("deleted", key=log_key(kind, ns, name))
                    result = marked
                elif (
                    outcome.current is not None and outcome.current.mod_revision == kv.mod_revision
                ):
                    # Unchanged, so what failed was the strategy's own condition (a namespace
                    # not empty yet): keep it, marked, instead.
                    gone = False
            if not gone:
                if unchanged(marked, kv.value):
                    return current
                outcome = await guarded(
                    self.etcd, key, compares, [op_put(key, encode_for_store(marked))], fence
                )
                if outcome.succeeded:
                    log.debug(
                        "marked for deletion",
                        key=log_key(kind, ns, name),
                        grace=marked.metadata.deletion_grace_period_seconds,
                        finalizers=list(marked.metadata.finalizers),
                    )
                    result = marked
            if result is not None:
                result.metadata.resource_version = str(outcome.revision)
                return result
            check_retry(outcome, kind, name, expected)
        raise conflict(kind, name)
