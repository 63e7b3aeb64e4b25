"""The API server's flow control loop outlives a failed round: the dispatcher keeps hearing
of every change."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

from client.timeouts import cancel_and_wait, within
from master.apiserver.flowcontrol import controller
from master.apiserver.flowcontrol.controller import ConfigController


async def test_a_round_that_crashes_is_retried_and_the_loop_goes_on(monkeypatch):
    monkeypatch.setattr(controller, "RETRY_SECONDS", (0.01, 0.02))
    rounds: list[int] = []
    again = asyncio.Event()

    def configure(schemas: Mapping[str, Any], levels: Mapping[str, Any]) -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("a bug in the first round")
        again.set()

    none = cast(Any, None)
    loop = ConfigController(none, none, none, configure, maintain=False)
    loop._listed_all("flowschemas", loop.schemas, [])
    loop._listed_all("prioritylevelconfigurations", loop.levels, [])
    task = asyncio.create_task(loop._digest_forever())
    try:
        await within(again.wait(), 5)
        assert loop.settled.is_set()
        assert not task.done()
    finally:
        await cancel_and_wait([task], 3.0)
    assert rounds == [0, 1]
