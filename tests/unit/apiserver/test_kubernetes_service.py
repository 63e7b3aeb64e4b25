"""The `kubernetes` Service's Endpoints list the API servers with fresh registrations."""

from __future__ import annotations

from client.timestamps import from_epoch
from master.apiserver.kubernetesservice import desired_subsets
from master.registration import ADDRESS_ANNOTATION
from proto import workloads_pb2


def lease(address: str, renewed: float, duration: int = 15) -> workloads_pb2.Lease:
    found = workloads_pb2.Lease()
    found.metadata.annotations[ADDRESS_ANNOTATION] = address
    found.spec.renew_time = from_epoch(renewed, micro=True)
    found.spec.lease_duration_seconds = duration
    return found


def test_fresh_servers_are_listed_one_subset_per_port_and_stale_or_unbound_ones_are_not():
    now = 1_000_000.0
    subsets = desired_subsets(
        [
            lease("127.0.0.1:6463", now - 1),
            lease("127.0.0.1:6473", now - 2),
            lease("10.0.0.2:6463", now - 3),
            lease("10.0.0.9:6463", now - 60),  # stopped renewing
            lease("0.0.0.0:6483", now),  # bound to every address: not one to list
        ],
        now,
    )
    assert [
        ([a.ip for a in s.addresses], [(p.name, p.port) for p in s.ports]) for s in subsets
    ] == [
        (["10.0.0.2", "127.0.0.1"], [("https", 6463)]),
        (["127.0.0.1"], [("https", 6473)]),
    ]
