"""Compaction: keep about `retention` seconds of etcd history, so watches can resume.

Every `interval` seconds the compactor notes the store's revision, then compacts to
the newest noted revision that is at least `retention` seconds old. Each API server
runs one; compacting to a revision that another server already compacted is a no-op.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

import structlog

from master.apiserver.etcd import Etcd

log = structlog.get_logger("apiserver.compaction")


class Compactor:
    """Compacts etcd periodically, keeping `retention` seconds of history."""

    def __init__(
        self,
        etcd: Etcd,
        *,
        interval: float = 60.0,
        retention: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.etcd = etcd
        self.interval = interval
        self.retention = retention
        self._clock = clock
        self._seen: deque[tuple[float, int]] = deque(maxlen=10_000)
        self.compacted = 0
        """The last revision this compactor compacted to."""

    async def compact_now(self, revision: int | None = None) -> int:
        """Compact to `revision` (default: the current revision); return the revision."""
        target = revision if revision is not None else await self.etcd.revision()
        if target > self.compacted:
            await self.etcd.compact(target)
            self.compacted = target
            log.info("compacted etcd", key="compaction", revision=target)
        return target

    async def step(self) -> None:
        """Note the current revision and compact what is older than the retention."""
        now = self._clock()
        self._seen.append((now, await self.etcd.revision()))
        target = None
        while self._seen and now - self._seen[0][0] >= self.retention:
            target = self._seen.popleft()[1]
        if target is not None:
            await self.compact_now(target)

    async def run(self) -> None:
        """Step every interval until cancelled; errors are logged and the loop goes on."""
        while True:
            try:
                await self.step()
            except Exception as e:  # etcd down now: try again next round
                log.warning("compaction failed", key="compaction", error=str(e))
            await asyncio.sleep(self.interval)
