"""A kubelet's runtime, closed while an engine call is on its thread, waits for the call:
the container it makes lands anyway, and whoever stops the kubelet must find it to
remove it (CI runs left such containers behind on the engine)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from kubelet.runtime.docker import DockerRuntime
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


async def test_closing_waits_for_an_engine_call_already_on_its_thread(node_name: str) -> None:
    runtime = DockerRuntime(node_name)
    started, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def slow_create() -> None:
        # Stands for a create that the engine answers slowly, as under a burst of starts.
        started.set()
        release.wait(10)
        finished.append("created")

    call = runtime._call("create_sandbox", slow_create)
    calling = asyncio.ensure_future(call)
    await eventually(started.is_set, what="the call on its thread")
    # The engine answers a moment later, while the kubelet is being stopped.
    threading.Timer(0.3, release.set).start()
    await runtime.close()
    assert finished == ["created"], "close() returned before the call on its thread ended"
    await calling
