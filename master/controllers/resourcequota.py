"""ResourceQuota: `status.hard` and `status.used` kept true, as kube-controller-manager's
resource quota controller keeps them.

Admission counts a namespace's usage at each create and writes it into the quota in the
create's own transaction, so a quota is never overrun. But admission never sees what
leaves: a deleted pod, a pod that finished, a deleted ConfigMap. Without this controller
`kubectl describe quota` showed the usage of the last create until the next one. It
recounts a quota from the namespace's objects (client/quota.py, the same rules admission
uses) when the quota changes, when a pod of its namespace stops counting (finished,
being deleted, gone), and every `resource_quota_sync_period` for every quota (the other
kinds' deletions). The write is guarded by the quota's resourceVersion: a create that
counted in the meantime wins, and the recount runs again.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import structlog

from client import kinds, quota
from client.errors import NotFound
from client.informer import copy_object
from master.controllers.base import Context, Controller
from proto import core_pb2, policy_pb2

__all__ = ["ResourceQuotaController", "recounted"]

log = structlog.get_logger("controllers.resourcequota")


def recounted(q: policy_pb2.ResourceQuota, objects: dict[str, list[Any]]) -> dict[str, str]:
    """The quota's `status.used`, counted from the namespace's `objects` by resource."""
    names = sorted(q.spec.hard)
    used: quota.Usage = {name: Fraction(0) for name in names}
    for kind in quota.kinds_for(names):
        matched = [o for o in objects.get(kind.resource, []) if quota.in_scope(q, kind, o)]
        for name, value in quota.total(kind, matched, names).items():
            used[name] += value
    return {name: quota.show(name, value) for name, value in used.items()}


class ResourceQuotaController(Controller):
    """Recounts each ResourceQuota's usage and writes it when it differs."""

    name = "resourcequota"
    component = "resourcequota-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.quotas = ctx.informers.get("resourcequotas")
        self.pods = ctx.informers.get("pods")
        self.quotas.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))
        self.pods.add_handler(on_update=self._pod_updated, on_delete=self._pod_gone)

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        if quota.counts_pod(old) != quota.counts_pod(new):
            self._namespace(new.metadata.namespace)

    def _pod_gone(self, pod: core_pb2.Pod) -> None:
        self._namespace(pod.metadata.namespace)

    def _namespace(self, namespace: str) -> None:
        for q in self.quotas.list(copy=False):
            if q.metadata.namespace == namespace:
                self.queue.add(kinds.key(q))

    async def background(self) -> None:
        """Every quota, every sync period: deletions of kinds it does not watch."""
        while True:
            await asyncio.sleep(self.settings.resource_quota_sync_period)
            for q in self.quotas.list(copy=False):
                self.queue.add(kinds.key(q))

    async def sync(self, key: str) -> None:
        """Recount quota `key` and write its status if it changed."""
        q = self.quotas.get(key, copy=False)
        if q is None:
            return
        namespace = q.metadata.namespace
        objects = {
            kind.resource: list((await self.client.list(kind.resource, namespace)).items)
            for kind in quota.kinds_for(q.spec.hard)
        }
        used = recounted(q, objects)
        if dict(q.status.hard) == dict(q.spec.hard) and dict(q.status.used) == used:
            return
        fresh = copy_object(q)
        fresh.status.hard.clear()
        fresh.status.hard.update(q.spec.hard)
        fresh.status.used.clear()
        fresh.status.used.update(used)
        try:
            await self.client.update_status(fresh)
        except NotFound:
            return
        log.info("quota recounted", key=key, used=used)
