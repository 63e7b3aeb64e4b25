"""The API server's API Priority and Fairness configuration loop, as kube-apiserver's
configuration controller runs it: follow the FlowSchemas and PriorityLevelConfigurations,
and after every change

1. hand the dispatcher the new configuration (config.py digests the objects),
2. write each FlowSchema's Dangling condition (status.py),
3. keep the built-in objects (ensurer.py).

Changes are coalesced: a burst of events (a `kubectl apply` of ten objects, the initial
lists) is digested once, after the last one, and a change arriving during a round makes
one more. The dispatcher is given the built-in configuration before anything is read, so
a request that arrives first is classified as it would be on a fresh cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from client import errors
from master.apiserver.deletion import Deleter
from master.apiserver.etcd import Etcd
from master.apiserver.flowcontrol.ensurer import FLOW_SCHEMAS, PRIORITY_LEVELS, Ensurer
from master.apiserver.flowcontrol.status import write_dangling
from master.apiserver.following import follow
from master.apiserver.registry import Registry

log = structlog.get_logger("apiserver.flowcontrol")

Configure = Callable[[Mapping[str, Any], Mapping[str, Any]], None]
"""Called with the FlowSchemas and PriorityLevelConfigurations by name."""

RETRY_SECONDS = (1.0, 30.0)
"""The first and the longest pause before a failed round is tried again."""


class ConfigController:
    """Follows the configuration in etcd and applies it; `run()` until cancelled."""

    def __init__(
        self,
        etcd: Etcd,
        registry: Registry,
        deleter: Deleter,
        configure: Configure,
        *,
        maintain: bool = True,
    ) -> None:
        self.etcd = etcd
        self.registry = registry
        self.configure = configure
        self.ensurer = Ensurer(registry, deleter) if maintain else None
        self.schemas: dict[str, Any] = {}
        self.levels: dict[str, Any] = {}
        self._listed: set[str] = set()
        self._changed = asyncio.Event()
        self.settled = asyncio.Event()
        """Set while the last round wrote nothing: the built-in objects and conditions
        are in place (tests wait on it before they count etcd's writes)."""
        self.in_place = asyncio.Event()
        """Set once the first round wrote nothing: the server's readiness waits for it, as
        kube-apiserver's /readyz waits for its priority-and-fairness-config-producer."""

    async def run(self) -> None:
        await asyncio.gather(
            follow(
                self.etcd,
                FLOW_SCHEMAS,
                lambda items: self._listed_all(FLOW_SCHEMAS.resource, self.schemas, items),
                lambda kind_, obj: self._event(self.schemas, kind_, obj),
            ),
            follow(
                self.etcd,
                PRIORITY_LEVELS,
                lambda items: self._listed_all(PRIORITY_LEVELS.resource, self.levels, items),
                lambda kind_, obj: self._event(self.levels, kind_, obj),
            ),
            self._digest_forever(),
        )

    def _listed_all(self, resource: str, into: dict[str, Any], items: list[Any]) -> None:
        into.clear()
        into.update((o.metadata.name, o) for o in items)
        self._listed.add(resource)
        self._changed.set()

    def _event(self, into: dict[str, Any], kind_: str, obj: Any) -> None:
        if kind_ == "DELETED":
            into.pop(obj.metadata.name, None)
        else:
            into[obj.metadata.name] = obj
        self._changed.set()

    async def _digest_forever(self) -> None:
        pause = RETRY_SECONDS[0]
        while True:
            await self._changed.wait()
            if len(self._listed) < 2:
                # One kind alone would digest as "the other has nothing": wait for both.
                self._changed.clear()
                continue
            # Let the rest of a burst arrive: every event of one etcd response is
            # delivered before the loop comes back here.
            await asyncio.sleep(0)
            self._changed.clear()
            try:
                await self._digest()
                pause = RETRY_SECONDS[0]
            except errors.Unavailable as e:
                # etcd away or the server stopping: try again, less often each time.
                log.warning("flow control round failed", key="flowcontrol", error=e.message)
                await self._retry_after(pause)
                pause = min(pause * 2, RETRY_SECONDS[1])
            except Exception:
                # A bug must not end the loop: the dispatcher would never hear of another
                # change. Logged loudly, retried like an outage.
                log.exception("flow control round crashed", key="flowcontrol")
                await self._retry_after(pause)
                pause = min(pause * 2, RETRY_SECONDS[1])

    async def _retry_after(self, pause: float) -> None:
        self.settled.clear()
        await asyncio.sleep(pause)
        self._changed.set()

    async def _digest(self) -> None:
        schemas, levels = dict(self.schemas), dict(self.levels)
        self.configure(schemas, levels)
        written = 0
        if self.ensurer is not None:
            written += await write_dangling(self.registry, schemas, levels)
            written += await self.ensurer.ensure(schemas, levels)
        if written:
            self.settled.clear()
        else:
            self.settled.set()
            self.in_place.set()
