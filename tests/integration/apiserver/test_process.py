"""`tug-apiserver` as a process: it serves, and SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import urllib.request

from tests.integration.apiserver.helpers import configmap, create, get, stub_for


async def test_the_apiserver_process_serves_and_exits_zero_on_sigterm(apiserver_factory):
    proc = apiserver_factory.start_process(name="proc-1")
    async with stub_for(proc.endpoint) as stub:
        await create(stub, configmap("from-process"))
        assert (await get(stub, "configmaps", "default", "from-process")).metadata.uid
    url = f"http://127.0.0.1:{proc.http_port}/healthz"
    assert await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).status) == 200
    assert proc.terminate() == 0
