"""Who leads each leader-elected component, read from the kube-system Leases.

`tug cluster-info` prints one line per component, e.g.
`tug-scheduler leader: master-2 (renewed 1s ago, 3 transitions)`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from client import errors
from client.api import ApiClient
from client.timestamps import try_parse
from proto import workloads_pb2

COMPONENTS = ("tug-scheduler", "tug-controller-manager")
LEASE_NAMESPACE = "kube-system"


def describe_lease(component: str, lease: workloads_pb2.Lease | None, now: datetime) -> str:
    """One line about a component's leader."""
    if lease is None or not lease.spec.holder_identity:
        return f"{component} leader: none"
    renewed = try_parse(lease.spec.renew_time)
    ago = f"{max(0, int((now - renewed).total_seconds()))}s ago" if renewed else "unknown"
    stale = ""
    duration = lease.spec.lease_duration_seconds
    if renewed and duration and (now - renewed).total_seconds() > duration:
        stale = ", stale"
    return (
        f"{component} leader: {lease.spec.holder_identity} "
        f"(renewed {ago}, {lease.spec.lease_transitions} transitions{stale})"
    )


async def leader_lines(api: ApiClient, now: datetime | None = None) -> list[str]:
    """A line per component that has ever had a leader (a cluster without the
    elected components prints nothing); errors other than NotFound propagate."""
    now = now or datetime.now(UTC)
    lines = []
    for component in COMPONENTS:
        try:
            obj = await api.get("leases", LEASE_NAMESPACE, component)
        except errors.NotFound:
            continue
        if isinstance(obj, workloads_pb2.Lease):
            lines.append(describe_lease(component, obj, now))
    return lines
