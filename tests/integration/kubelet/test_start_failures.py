"""A container the engine refuses to start is retried with Kubernetes' back-off, not in a
hot loop, and its status says why."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import pytest

from kubelet.pods.context import PodSettings
from proto import core_pb2
from tests.integration.kubelet.pods import container, pod, wait_for_pod
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


async def test_a_container_the_engine_refuses_backs_off_and_reports_run_container_error(
    api, node_name, kubelets
):
    backoff = 2.0
    kubelet = await kubelets.start(
        node_name,
        pods=PodSettings(crash_backoff_initial=backoff, crash_backoff_max=60.0,
                         image_backoff_initial=1.0, image_backoff_max=4.0, resync_period=2.0),
    )  # fmt: skip
    refused = container("main", "sleep", "3600")
    refused.security_context.privileged = True  # this engine refuses privileged containers
    created = time.monotonic()
    await api.create(pod("refused", node_name, refused))

    def waiting_reason(p: core_pb2.Pod) -> str:
        statuses = p.status.container_statuses
        return statuses[0].state.waiting.reason if statuses else ""

    await wait_for_pod(
        api, "refused", lambda p: waiting_reason(p) in ("RunContainerError", "CrashLoopBackOff"),
        timeout=30,
    )  # fmt: skip

    async def failed_attempts() -> int:
        events = (await api.list("events", "default")).items
        failed = [e for e in events if e.involved_object.name == "refused" and e.reason == "Failed"]
        return sum(e.count or 1 for e in failed)

    # Five tries take at least b + 2b + 4b + 8b seconds with the back-off, and a second or
    # two in a hot loop: the bound below tells the two apart once they are made.
    await eventually(
        lambda: _at_least(failed_attempts, 5), timeout=90, interval=0.2, what="five tries"
    )
    count = await failed_attempts()
    attempts = [
        c for c in await kubelet.runtime.list_containers()
        if c.pod.name == "refused" and c.kind != "sandbox"
    ]  # fmt: skip
    # Tries at 0, b, 3b, 7b, ... for a back-off b that doubles: 1 + log2(t/b + 1) in t
    # seconds (one more for slack), where a hot loop makes several a second.
    elapsed = time.monotonic() - created
    bound = 2 + int(math.log2(elapsed / backoff + 1))
    assert 1 <= count <= bound, f"{count} Failed events in {elapsed:.0f} s (at most {bound})"
    assert len(attempts) == 1, attempts  # each try replaces the one the engine refused


async def _at_least(count: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await count() >= wanted
