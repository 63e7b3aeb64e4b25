"""Tolerations against taints, and when a NoExecute taint evicts."""

from __future__ import annotations

import pytest

from master.controllers import taints as tt
from master.controllers.nodelifecycle import zone_state
from master.controllers.ratelimit import TokenBucket
from proto import core_pb2

UNREACHABLE = core_pb2.Taint(key=tt.UNREACHABLE, effect="NoExecute")
NOT_READY = core_pb2.Taint(key=tt.NOT_READY, effect="NoExecute")
DEDICATED = core_pb2.Taint(key="dedicated", value="db", effect="NoSchedule")


def tol(
    key: str = "", op: str = "", value: str = "", effect: str = "", seconds: int | None = None
) -> core_pb2.Toleration:
    t = core_pb2.Toleration(key=key, operator=op, value=value, effect=effect)
    if seconds is not None:
        t.toleration_seconds = seconds
    return t


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        (tol("dedicated", "Equal", "db", "NoSchedule"), DEDICATED, True),
        (tol("dedicated", "", "db"), DEDICATED, True),
        (tol("dedicated", "Equal", "web", "NoSchedule"), DEDICATED, False),
        (tol("dedicated", "Exists"), DEDICATED, True),
        (tol("dedicated", "Exists", effect="NoExecute"), DEDICATED, False),
        (tol("", "Exists"), DEDICATED, True),  # tolerates everything
        (tol("other", "Exists"), DEDICATED, False),
    ],
)
def test_toleration_matching(
    toleration: core_pb2.Toleration, taint: core_pb2.Taint, expected: bool
) -> None:
    assert tt.tolerates(toleration, taint) is expected


@pytest.mark.parametrize(
    ("taints", "tolerations", "expected"),
    [
        ([], [], None),
        ([DEDICATED], [], None),  # NoSchedule never evicts
        ([UNREACHABLE], [], 0.0),
        ([UNREACHABLE], [tol(tt.UNREACHABLE, "Exists", effect="NoExecute", seconds=2)], 2.0),
        ([UNREACHABLE], [tol(tt.UNREACHABLE, "Exists", effect="NoExecute")], None),
        (
            [UNREACHABLE, NOT_READY],
            [tol(tt.UNREACHABLE, "Exists", seconds=300), tol(tt.NOT_READY, "Exists", seconds=30)],
            30.0,
        ),
        ([UNREACHABLE, NOT_READY], [tol(tt.UNREACHABLE, "Exists", seconds=300)], 0.0),
        ([UNREACHABLE], [tol(tt.UNREACHABLE, "Exists", seconds=-5)], 0.0),
    ],
)
def test_eviction_delay(
    taints: list[core_pb2.Taint], tolerations: list[core_pb2.Toleration], expected: float | None
) -> None:
    assert tt.eviction_delay(taints, tolerations) == expected


@pytest.mark.parametrize(
    ("ready", "not_ready", "state"),
    [
        (3, 0, "Normal"),
        (1, 2, "Normal"),  # two down is never a partition
        (2, 3, "PartialDisruption"),  # 60% >= 55%
        (3, 3, "Normal"),  # 50%
        (0, 2, "FullDisruption"),
    ],
)
def test_zone_states(ready: int, not_ready: int, state: str) -> None:
    assert zone_state(ready, not_ready, 0.55) == state


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(0.1, clock=lambda: now[0])
    assert bucket.try_take()
    assert not bucket.try_take()
    now[0] = 9.0
    assert not bucket.try_take()
    now[0] = 10.0
    assert bucket.try_take()
    bucket.set_rate(0)
    now[0] = 100.0
    assert not bucket.try_take()
