"""What controllers that own their pods directly (ReplicaSet, Job, DaemonSet) share: the
informers, expectations and pod control they are built from, the pod event handlers, and
how each sync starts (the owner, its selector, the pods it claims).

Such a controller finds a pod's owner through the pod's controller ownerReference (kind,
name and uid must all match a live owner in the cache), tells the owner's expectations
what it observed, and queues the owner (after a pod's update, once the settings' batch
period has passed, so that a burst of updates makes one sync). Kept in one place so the
controllers cannot drift apart on the subtle part: a pod seen with a deletionTimestamp
counts as a deletion observed, not a creation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from client import kinds
from client.informer import NAMESPACE_INDEX, Informer
from client.selectors import LabelSelector
from master.controllers import controller_utils as cu
from master.controllers.base import Context, Controller
from master.controllers.claiming import claim
from master.controllers.expectations import Expectations
from master.controllers.pod_facts import PodFacts, PodFactsCache
from master.controllers.podcontrol import PodControl
from proto import core_pb2

log = structlog.get_logger("controllers.owned_pods")


class OwnedPodsController(Controller):
    """A Controller whose `owners` informer holds objects of `owner_kind` owning pods."""

    owner_kind: str
    owner_resource: str
    """The owners' resource ("replicasets")."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.owners: Informer[Any] = ctx.informers.get(self.owner_resource)
        self.pods: Informer[core_pb2.Pod] = ctx.informers.get("pods")
        self.expectations = Expectations(ctx.settings.expectations_ttl)
        self.pod_control = PodControl(ctx.client, self.events, self.expectations)
        self.pod_facts = PodFactsCache()
        self.owners.add_handler(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self._owner_deleted,
        )
        self.pods.add_handler(
            on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted
        )

    def _owner_deleted(self, owner: Any) -> None:
        self.expectations.forget(kinds.key(owner))

    def _owner_key(self, pod: core_pb2.Pod) -> str | None:
        ref = cu.controller_ref(pod)
        if ref is None or ref.kind != self.owner_kind:
            return None
        key = f"{pod.metadata.namespace}/{ref.name}"
        owner = self.owners.get(key, copy=False)
        return key if owner is not None and owner.metadata.uid == ref.uid else None

    def _pod_added(self, pod: core_pb2.Pod) -> None:
        key = self._owner_key(pod)
        if key is None:
            return
        if pod.metadata.deletion_timestamp:
            self.expectations.deletion_observed(key, kinds.key(pod))
        else:
            self.expectations.creation_observed(key)
        self.queue.add(key)

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        self._observe_update(old, new)

    def _observe_update(self, old: core_pb2.Pod, new: core_pb2.Pod) -> str | None:
        """Queue the updated pod's owner; its key, or None when the pod has no live owner."""
        key = self._owner_key(new)
        if key is None:
            return None
        if new.metadata.deletion_timestamp and not old.metadata.deletion_timestamp:
            self.expectations.deletion_observed(key, kinds.key(new))
            self.queue.add(key)
        else:
            # An earlier pending time wins, so a stream of updates syncs once a period.
            self.queue.add_after(key, self.settings.pod_updates_batch_period)
        return key

    def _pod_deleted(self, pod: core_pb2.Pod) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, kinds.key(pod))
            self.queue.add(key)

    # -- what each sync starts with ----------------------------------------------------

    def _owner(self, key: str) -> Any | None:
        """The owner to sync (a copy), or None once it is gone: its expectations go too."""
        owner = self.owners.get(key)
        if owner is None:
            self.expectations.forget(key)
        return owner

    def _selector(self, owner: Any, key: str) -> LabelSelector | None:
        """The owner's pod selector; None, logged, when invalid or empty: such an owner
        must select nothing rather than every pod, and a retry would not change it."""
        selector = cu.selector_of(owner.spec.selector)
        if selector is None or selector.empty():
            log.error("no usable selector; nothing to do", **{self.name: key})
            return None
        return selector

    async def _claim(
        self,
        owner: Any,
        selector: LabelSelector,
        candidate: Callable[[PodFacts], bool] | None = None,
    ) -> list[core_pb2.Pod]:
        """The pods of the owner's namespace (those `candidate` accepts) it controls, once
        matching orphans are adopted and misfits released (claiming.py)."""
        namespace = owner.metadata.namespace
        pods = self.pods.by_index(NAMESPACE_INDEX, namespace, copy=False)
        uid = owner.metadata.uid
        owned: list[core_pb2.Pod] = []
        undecided: list[core_pb2.Pod] = []
        # Pods already controlled by this owner and matching it, and pods of other
        # owners, are decided from their facts; claim() sees only orphans and misfits.
        for pod, facts in zip(pods, self.pod_facts.of(namespace, pods), strict=True):
            if candidate is not None and not candidate(facts):
                continue
            if facts.controller_uid == uid and selector.matches(facts.labels):
                owned.append(pod)
            elif not facts.controller_uid or facts.controller_uid == uid:
                undecided.append(pod)
        if undecided:
            owned.extend(await claim(self.client, owner, selector, undecided, self.owners.get))
        return owned
