"""The repair loop for ClusterIP and NodePort allocations, as kube-apiserver's repair
controllers for its IP and port allocators.

Our allocation keys are written and deleted in the same etcd transaction as their
Service (allocators.py), so no crash of an API server can leave one behind. Keys can
still outlive their Service in other ways: written by an older version, restored from a
backup beside a Service that was not, or put in etcd by hand; and a leaked key keeps its
address or port from every Service forever. So every API server looks through the keys
now and then, and frees each one whose owner Service is gone or no longer holds that
address or port.

Each deletion is guarded in its transaction by the allocation key's revision and by the
owner Service's (or its absence), so it never races a write of that Service: a Service
created or changed since the key was read makes the delete fail, and the key is looked
at again next round. Several API servers repairing at once delete a leaked key once.
"""

from __future__ import annotations

import asyncio

import structlog

from client import errors
from master.apiserver import objects
from master.apiserver.allocators import IP_PREFIX, PORT_PREFIX, SERVICES, held_keys
from master.apiserver.etcd import Etcd, compare_mod, compare_version, op_delete, prefix_end
from proto import core_pb2

log = structlog.get_logger("apiserver.allocation_repair")


class AllocationRepair:
    """Frees allocation keys whose Service is gone or holds something else."""

    def __init__(self, etcd: Etcd, *, interval: float = 60.0) -> None:
        self.etcd = etcd
        self.interval = interval
        self.freed = 0
        """Keys freed since start (for tests and logs)."""

    async def repair_once(self) -> int:
        """One pass over every allocation key; how many were freed."""
        freed = 0
        for prefix in (IP_PREFIX, PORT_PREFIX):
            listed = await self.etcd.range(prefix, prefix_end(prefix))
            for kv in listed.kvs:
                if await self._free_if_leaked(bytes(kv.key), bytes(kv.value), kv.mod_revision):
                    freed += 1
        self.freed += freed
        return freed

    async def _free_if_leaked(self, key: bytes, owner: bytes, revision: int) -> bool:
        namespace, _, name = owner.decode(errors="replace").partition("/")
        service_key = objects.object_key(SERVICES, namespace, name)
        stored, _ = await self.etcd.get(service_key)
        if stored is None:
            guard = compare_version(service_key, "==", 0)
        else:
            svc = objects.decode_stored(SERVICES, bytes(stored.value), stored.mod_revision)
            if isinstance(svc, core_pb2.Service) and key in held_keys(svc):
                return False
            guard = compare_mod(service_key, stored.mod_revision)
        done = await self.etcd.txn([compare_mod(key, revision), guard], [op_delete(key)], [])
        if done.succeeded:
            log.warning(
                "freed a leaked allocation",
                key=key.decode(errors="replace"),
                owner=owner.decode(errors="replace"),
            )
        return bool(done.succeeded)

    async def run(self) -> None:
        """Repair every `interval` seconds until cancelled; a failed pass waits its turn."""
        # Runs for the server's lifetime; each pass is bounded by the keys it reads.
        while True:
            try:
                await self.repair_once()
            except (errors.ApiError, ValueError) as e:  # etcd away, or an undecodable key
                log.warning("allocation repair failed", key="allocation-repair", error=str(e))
            await asyncio.sleep(self.interval)
