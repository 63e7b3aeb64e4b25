"""The controllers of the controller manager, one module per controller.

`run_controllers(client, settings=...)` builds the shared informers, lets every enabled
controller register its handlers, starts the informers, waits until each has listed
(acting on a half-filled cache would create duplicates), then runs every controller's
workers until cancelled. The caller (tug-controller-manager) runs it inside its
leader-only task group, with a client whose writes carry the term's fence.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from client.api import ApiClient
from master.controllers.base import Context, Controller
from master.controllers.settings import ControllerSettings

if TYPE_CHECKING:
    # Only a type here: statemetrics imports controller_utils, a module of this package.
    from master.statemetrics.collector import StateMetrics

__all__ = ["ControllerSettings", "build_controllers", "run_controllers"]

log = structlog.get_logger("controllers")


def build_controllers(ctx: Context) -> list[Controller]:
    """The enabled controllers, handlers registered on ctx's informers (not started)."""
    from master.controllers import catalog  # every controller module: only when building

    classes = [catalog.by_name()[n] for n in catalog.resolve(ctx.settings.controllers)]
    skipped = [c.name for c in classes if not c.configured(ctx.settings)]
    if skipped:
        log.info("controllers not configured, skipped", controllers=skipped)
    return [c(ctx) for c in classes if c.configured(ctx.settings)]


async def run_controllers(
    client: ApiClient,
    *,
    settings: ControllerSettings | None = None,
    state: StateMetrics | None = None,
) -> None:
    """Run every enabled controller until cancelled; with `state`, serve the cluster-state
    metrics from the same informers (no second copy of every pod) while running."""
    ctx = Context(client, settings or ControllerSettings())
    controllers = build_controllers(ctx)
    if state is not None:
        for resource in state.resources:
            ctx.informers.get(resource)
    try:
        async with asyncio.TaskGroup() as tg:
            for informer in ctx.informers.all():
                tg.create_task(informer.run(), name=f"informer-{informer.resource}")
            for informer in ctx.informers.all():
                await informer.wait_synced()
            log.info("caches synced", controllers=[c.name for c in controllers])
            if state is not None:
                state.serve({i.resource: i for i in ctx.informers.all()})
            for controller in controllers:
                tg.create_task(controller.run(), name=f"controller-{controller.name}")
    finally:
        if state is not None:
            state.stop()
