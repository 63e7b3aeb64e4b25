"""How `tug cluster-info` describes a component's leader from its Lease."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cli.leaders import describe_lease
from proto import workloads_pb2

NOW = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)


def lease(holder: str, renewed: str, duration: int = 3, transitions: int = 2):
    out = workloads_pb2.Lease()
    out.spec.holder_identity = holder
    out.spec.renew_time = renewed
    out.spec.lease_duration_seconds = duration
    out.spec.lease_transitions = transitions
    return out


@pytest.mark.parametrize(
    ("obj", "line"),
    [
        pytest.param(
            lease("m2", "2026-01-01T12:00:09.500000Z"),
            "tug-scheduler leader: m2 (renewed 0s ago, 2 transitions)",
            id="fresh",
        ),
        pytest.param(
            lease("m1", "2026-01-01T12:00:00.000000Z"),
            "tug-scheduler leader: m1 (renewed 10s ago, 2 transitions, stale)",
            id="stale",
        ),
        pytest.param(None, "tug-scheduler leader: none", id="no-lease"),
        pytest.param(lease("", ""), "tug-scheduler leader: none", id="no-holder"),
    ],
)
def test_a_leases_holder_and_freshness_are_described(obj, line):
    assert describe_lease("tug-scheduler", obj, NOW) == line
