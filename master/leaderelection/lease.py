"""The leader's visible record: a coordination.k8s.io Lease kept up to date through the API.

The etcd election key decides who leads; this Lease only shows it, so that
`tug get leases -n kube-system` and `tug cluster-info` can name the leader the way
Kubernetes users expect (holderIdentity, acquireTime, renewTime, leaseTransitions).
Its writes go through the leader's fenced client, so a deposed leader cannot touch it.
"""

from __future__ import annotations

import asyncio
from dataclasses import KW_ONLY, dataclass

import structlog

from client.api import ApiClient
from client.errors import AlreadyExists, ApiError, Conflict, FencedOut, NotFound
from client.timestamps import now_micro
from proto import workloads_pb2

log = structlog.get_logger("leaderlease")

LEASE_NAMESPACE = "kube-system"
MAX_CONFLICT_RETRIES = 5


def micro_time() -> str:
    """Kubernetes' MicroTime: `2024-05-01T12:00:00.123456Z`."""
    return now_micro()


@dataclass(eq=False)
class LeaseKeeper:
    """Claims the Lease for this leader, then renews renewTime every interval."""

    api: ApiClient
    _: KW_ONLY
    name: str
    identity: str
    duration_seconds: int
    renew_interval: float
    namespace: str = LEASE_NAMESPACE

    def __post_init__(self) -> None:
        self._log = log.bind(lease=f"{self.namespace}/{self.name}", identity=self.identity)

    async def run(self, *, max_failures: int = 10) -> None:
        """Claim, then renew until cancelled.

        FencedOut propagates at once (this leader is deposed). Other API errors are
        retried each interval, so a brief API outage does not end the term; after
        `max_failures` in a row the error propagates too.
        """
        claimed = False
        failures = 0
        while True:
            try:
                await self._write(claim=not claimed)
                claimed, failures = True, 0
            except FencedOut:
                raise
            except ApiError as e:
                failures += 1
                self._log.warning("lease not written", error=e.message, failures=failures)
                if failures >= max_failures:
                    raise
            await asyncio.sleep(self.renew_interval)

    async def claim(self) -> workloads_pb2.Lease:
        """Take the Lease: holder, acquireTime, and one more transition if the holder changed."""
        return await self._write(claim=True)

    async def _write(self, *, claim: bool) -> workloads_pb2.Lease:
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                current = await self.api.get("leases", self.namespace, self.name)
            except NotFound:
                created = await self._create()
                if created is not None:
                    return created
                continue
            assert isinstance(current, workloads_pb2.Lease)
            lease = workloads_pb2.Lease()
            lease.CopyFrom(current)
            now = micro_time()
            if claim or lease.spec.holder_identity != self.identity:
                if lease.spec.holder_identity != self.identity:
                    lease.spec.lease_transitions += 1
                lease.spec.holder_identity = self.identity
                lease.spec.acquire_time = now
            lease.spec.lease_duration_seconds = self.duration_seconds
            lease.spec.renew_time = now
            try:
                return await self.api.update(lease)
            except Conflict:
                continue
        raise Conflict(f"lease {self.namespace}/{self.name}: too many conflicting writers")

    async def _create(self) -> workloads_pb2.Lease | None:
        lease = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
        lease.metadata.name = self.name
        lease.metadata.namespace = self.namespace
        now = micro_time()
        lease.spec.holder_identity = self.identity
        lease.spec.lease_duration_seconds = self.duration_seconds
        lease.spec.acquire_time = now
        lease.spec.renew_time = now
        lease.spec.lease_transitions = 0
        try:
            created = await self.api.create(lease)
        except AlreadyExists:
            return None
        self._log.info("lease created")
        return created
