"""A controller that stops takes its Event writer with it.

Events are written behind the caller's back (client/events.py), so a controller that
only shut its queue would leave a writer task running against a client its owner is
about to close.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from client.api import ApiClient
from client.timeouts import wait_event
from master.controllers.base import Context, Controller
from master.controllers.settings import ControllerSettings
from proto import core_pb2


class StuckEvents:
    """An API whose Event writes never finish; `asked` is set by the first."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    async def create(self, obj: Any) -> Any:
        self.asked.set()
        await asyncio.Event().wait()
        return obj


class Recording(Controller):
    name = "recording"

    async def sync(self, key: str) -> None:
        pod = core_pb2.Pod(api_version="v1", kind="Pod")
        pod.metadata.name, pod.metadata.namespace, pod.metadata.uid = key, "default", "u1"
        await self.events.record(pod, "Normal", "Synced", f"synced {key}")


def writers() -> list[asyncio.Task[Any]]:
    return [
        t for t in asyncio.all_tasks() if t.get_name().startswith("event-recorder") and not t.done()
    ]


async def test_a_stopped_controller_leaves_no_event_writer_running() -> None:
    api = StuckEvents()
    controller = Recording(Context(cast(ApiClient, api), ControllerSettings()))
    running = asyncio.create_task(controller.run())
    controller.queue.add("web")
    assert await wait_event(api.asked, 10)
    assert writers()

    running.cancel()
    await asyncio.wait({running}, timeout=10)

    assert running.done()
    assert not writers()
