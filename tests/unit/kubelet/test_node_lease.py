"""How the kubelet renews its node Lease when a renewal loses its race.

A renewal that timed out may still have landed, and the client's retry of it then loses
with a Conflict. As Kubernetes' lease controller, the kubelet reads the newest Lease and
renews again in the same round, instead of leaving the Lease a whole period older.
"""

from __future__ import annotations

from typing import Any

import pytest

from client.errors import Conflict
from kubelet.node import LEASE_UPDATE_ATTEMPTS
from proto import workloads_pb2
from tests.unit.kubelet.heartbeats import heartbeat


class LeaseApi:
    """One stored Lease, guarded by its resourceVersion as the API server guards it;
    `landed_unseen` writes land without their answer reaching the kubelet, as when a
    timed-out Update lands and only the client's retry is answered."""

    def __init__(self, *, landed_unseen: int = 0) -> None:
        self.lease = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
        self.lease.metadata.name = "n1"
        self.lease.metadata.namespace = "kube-node-lease"
        self.lease.metadata.resource_version = "1"
        self.landed_unseen = landed_unseen
        self.gets = 0
        self.updates = 0

    def stored(self) -> workloads_pb2.Lease:
        copy = workloads_pb2.Lease()
        copy.CopyFrom(self.lease)
        return copy

    async def get(self, resource: str, namespace: str, name: str) -> Any:
        self.gets += 1
        return self.stored()

    async def update(self, obj: Any) -> Any:
        self.updates += 1
        if obj.metadata.resource_version != self.lease.metadata.resource_version:
            raise Conflict('Operation cannot be fulfilled on leases "n1"')
        self.lease.spec.CopyFrom(obj.spec)
        self.lease.metadata.resource_version = str(int(obj.metadata.resource_version) + 1)
        if self.landed_unseen:
            self.landed_unseen -= 1
            # The write landed; the kubelet only hears of the retry of the same request.
            return await self.update(obj)
        return self.stored()


async def test_a_renewal_whose_earlier_attempt_landed_reads_the_newest_lease_and_renews_at_once():
    api = LeaseApi()
    beat = heartbeat(api)
    await beat.renew_lease()
    api.landed_unseen = 1

    await beat.renew_lease()

    assert beat.renewals == 2
    assert api.gets == 2  # the first renewal's read, and the read after the Conflict
    assert beat.lease_version() == api.lease.metadata.resource_version


async def test_a_renewal_that_keeps_losing_gives_up_after_a_bounded_number_of_attempts():
    api = LeaseApi(landed_unseen=10 * LEASE_UPDATE_ATTEMPTS)
    beat = heartbeat(api)

    with pytest.raises(Conflict):
        await beat.renew_lease()

    assert api.gets == LEASE_UPDATE_ATTEMPTS
    assert beat.renewals == 0
    assert beat.lease_version() == ""  # the next round starts from a fresh read
