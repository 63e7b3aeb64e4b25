"""Pods: Pending when created, graceful deletion while a node runs them.

A pod bound to a node is not deleted at once: it is marked with a deadline (its grace
period) and stays until the node's kubelet has stopped it and confirms with grace 0, so
no replacement can start while the old pod may still run.
"""

from __future__ import annotations

from typing import Any

from client.codec import FieldError
from client.kinds import by_resource
from client.timestamps import now
from master.apiserver import defaults
from master.apiserver.admission import podsecurity
from master.apiserver.strategies.base import Strategy, apply_policy
from master.apiserver.validation import claims, ephemeral, pod
from master.apiserver.validation.errors import Errors

DEFAULT_GRACE_SECONDS = 30


def pod_grace(obj: Any, requested: int | None) -> int:
    """The grace period a pod's deletion gets; 0 when no node runs it."""
    if not obj.spec.node_name or obj.status.phase in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return requested
    if obj.spec.HasField("termination_grace_period_seconds"):
        return int(obj.spec.termination_grace_period_seconds)
    return DEFAULT_GRACE_SECONDS


def _take_ephemeral_containers(stored: Any, incoming: Any) -> None:
    """pods/ephemeralcontainers: the incoming list, and nothing else of the pod."""
    stored.spec.ClearField("ephemeral_containers")
    stored.spec.ephemeral_containers.extend(incoming.spec.ephemeral_containers)


class PodStrategy(Strategy):
    subresources = {"ephemeralcontainers": _take_ephemeral_containers}

    def prepare_for_create(self, obj: Any) -> None:
        if not obj.status.phase:
            obj.status.phase = "Pending"
        if obj.spec.scheduling_gates:
            # Said by the API server, as Kubernetes does, so kubectl shows SchedulingGated
            # before any scheduler has looked.
            gated = obj.status.conditions.add(type="PodScheduled", status="False")
            gated.reason = "SchedulingGated"
            gated.message = "Scheduling is blocked due to non-empty scheduling gates"
            gated.last_transition_time = now()

    def default(self, obj: Any) -> None:
        defaults.default_pod(obj)

    def admit(self, obj: Any, namespace: Any) -> str | None:
        return podsecurity.refusal(obj, namespace)

    def prepare_for_update(self, new: Any, old: Any) -> None:
        # Ephemeral containers are written through their own subresource only: an update
        # of the pod (kubectl replace of its manifest) keeps those already added.
        _take_ephemeral_containers(new, old)

    def validate(self, errs: Errors, obj: Any) -> None:
        pod.validate_pod_spec(errs, obj.spec, "spec", ephemeral_allowed=True)
        claims.validate_claim_names(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        pod.validate_pod_update(errs, new, old)
        ephemeral.validate_added(errs, new.spec, old.spec)

    def problems(
        self, obj: Any, old: Any | None = None, *, subresource: str = ""
    ) -> list[FieldError]:
        found = super().problems(obj, old, subresource=subresource)
        if old is None and obj.spec.ephemeral_containers:
            # As Kubernetes: they join a pod that runs, through pods/ephemeralcontainers.
            found.append(FieldError(ephemeral.PATH, "Forbidden: cannot be set on create"))
        return found

    def mark_deleted(self, obj: Any, grace_period_seconds: int | None, policy: str) -> bool:
        apply_policy(obj, policy)
        meta = obj.metadata
        seconds = pod_grace(obj, grace_period_seconds)
        pending = meta.deletion_grace_period_seconds if meta.deletion_timestamp else None
        # A second delete may shorten the grace period, never lengthen it.
        if pending is None or seconds < pending:
            meta.deletion_timestamp = now(seconds)
            meta.deletion_grace_period_seconds = seconds
        return meta.deletion_grace_period_seconds == 0 and not meta.finalizers

    def finished(self, obj: Any) -> bool:
        # A bound pod stays until its node confirms with grace 0.
        return super().finished(obj) and obj.metadata.deletion_grace_period_seconds <= 0


STRATEGY = PodStrategy(by_resource("pods"))
