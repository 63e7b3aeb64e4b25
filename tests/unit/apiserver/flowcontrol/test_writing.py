"""A write of the flow control loop says whether the store has settled: a race lost is
news, a refusal for good is left alone, and etcd away fails the round."""

from __future__ import annotations

import pytest

from client import errors
from master.apiserver.flowcontrol.writing import attempt


async def _raises(error: Exception) -> None:
    raise error


async def _succeeds() -> None:
    return None


async def test_a_write_made_counts_as_not_settled_yet():
    assert await attempt(_succeeds(), "flowschemas/x", "done", "refused") == 1


@pytest.mark.parametrize(
    "error",
    [errors.Conflict("changed"), errors.AlreadyExists("made"), errors.NotFound("gone")],
)
async def test_a_race_lost_to_another_server_counts_as_not_settled_yet(error):
    assert await attempt(_raises(error), "flowschemas/x", "done", "refused") == 1


async def test_a_write_refused_for_good_is_left_until_the_next_change():
    refused = errors.Forbidden("denied by a webhook")
    assert await attempt(_raises(refused), "flowschemas/x", "done", "refused") == 0


async def test_etcd_away_fails_the_round():
    with pytest.raises(errors.Unavailable):
        await attempt(_raises(errors.Unavailable("etcd")), "flowschemas/x", "done", "refused")
