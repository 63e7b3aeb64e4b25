"""Log and exec streams that never end do not outlive the runtime that opened them."""

from __future__ import annotations

import asyncio
import threading

import pytest

from client.timeouts import within
from kubelet.runtime.docker import DockerRuntime
from tests.integration.kubelet.pods import container, container_id, pod, running, wait_for_pod
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker

TICK = "while true; do echo tick; sleep 0.2; done"


def stream_threads(node: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith(f"-stream-{node}")]


async def test_closing_the_runtime_ends_follow_logs_and_exec_streams_left_open(
    api, kubelet, node_name
):
    await api.create(pod("chatty", node_name, container("main", "sh", "-c", TICK)))
    cid = container_id(await wait_for_pod(api, "chatty", running), "main")
    # A runtime of its own, so that closing it leaves the kubelet's alone.
    runtime = DockerRuntime(node_name)
    logs = runtime.logs(cid, follow=True, tail=1, timestamps=False)
    session = await runtime.exec(cid, ["sleep", "3600"], stdin=False, tty=False)
    output = session.output()
    try:
        assert b"tick" in await anext(logs)  # then the consumer walks away, never closing it
        exec_reader = asyncio.create_task(anext(output, None))
        await eventually(lambda: len(stream_threads(node_name)) == 2, what="both stream threads")
        await runtime.close()
        await eventually(
            lambda: not stream_threads(node_name), timeout=10, what="the stream threads to end"
        )
        assert await within(exec_reader, 10) is None, "the exec output ended"
    finally:
        for stream in (logs, output):
            await stream.aclose()  # type: ignore[union-attr]
        await session.close()
        await runtime.close()
