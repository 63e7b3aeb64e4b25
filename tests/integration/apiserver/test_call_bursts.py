"""A burst of calls larger than gRPC's own queue of calls not yet accepted is served, not
cancelled unseen.

gRPC's server core cancels calls the application has not yet taken from it once about a
thousand wait. The cancelled calls never reach the API server's handlers, metrics or
inflight limit, and a client sees only CANCELLED. At 5,000 simulated nodes that is how
Lease renewals failed by the thousand while every renewal the server saw took under
2.5 s, and how the nodes then fenced their pods (issue #14). Overload is the API
server's inflight limit's to refuse, with a Retry-After, and never a Lease's.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import grpc

from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, stub_for

BURST = 4000
"""Calls sent at once: above gRPC's default limits (1,000 soft, 3,000 hard)."""


async def test_thousands_of_calls_at_once_are_all_answered_none_cancelled(apiserver: Any) -> None:
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("target"))
        request = api_pb2.GetRequest(resource="configmaps", namespace="default", name="target")
        results = await asyncio.gather(
            *(stub.Get(request, timeout=60) for _ in range(BURST)), return_exceptions=True
        )
    codes = collections.Counter(
        r.code().name if isinstance(r, grpc.aio.AioRpcError) else type(r).__name__ for r in results
    )
    assert codes == {"ObjectResponse": BURST}
