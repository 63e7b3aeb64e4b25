"""A list's `limit` that is not a 64-bit integer is the client's error, said as such."""

from __future__ import annotations

import aiohttp
import pytest


@pytest.mark.parametrize("limit", ["99999999999999999999999", "-99999999999999999999999", "ten"])
async def test_a_limit_beyond_int64_or_not_a_number_is_invalid_not_a_server_error(
    apiserver, limit: str
):
    url = f"http://127.0.0.1:{apiserver.status.port}/api/v1/namespaces/default/configmaps"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params={"limit": limit}) as answer:
            assert answer.status == 422, await answer.text()
            status = await answer.json()
    assert status["reason"] == "Invalid"
    assert status["message"].startswith(f"limit: Invalid value: '{limit}'"), status["message"]
