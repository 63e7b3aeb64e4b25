"""The controllers of the controller manager, one module per controller.

`run_controllers(client, settings=...)` builds the shared informers, lets every enabled
controller register its handlers, starts the informers, waits until each has listed
(acting on a half-filled cache would create duplicates), then runs every controller's
workers until cancelled. The caller (tug-controller-manager) runs it inside its
leader-only task group, with a client whose writes carry the term's fence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from client.api import ApiClient
from master.controllers.base import Context, Controller
from master.controllers.settings import ALL_CONTROLLERS, ControllerSettings

if TYPE_CHECKING:
    # Only a type here: statemetrics imports controller_utils, a module of this package.
    from master.statemetrics.collector import StateMetrics

__all__ = ["ALL_CONTROLLERS", "ControllerSettings", "build_controllers", "run_controllers"]

log = structlog.get_logger("controllers")


def _factories() -> dict[str, Callable[[Context], Controller]]:
    from master.controllers.daemonset import DaemonSetController
    from master.controllers.deployment import DeploymentController
    from master.controllers.endpoints import EndpointsController
    from master.controllers.garbagecollector import GarbageCollector
    from master.controllers.job import JobController
    from master.controllers.namespace import NamespaceController
    from master.controllers.nodeipam import NodeIpamController
    from master.controllers.nodelifecycle import NodeLifecycleController
    from master.controllers.replicaset import ReplicaSetController
    from master.controllers.service_lb import ServiceLoadBalancerController

    return {
        "replicaset": ReplicaSetController,
        "deployment": DeploymentController,
        "garbagecollector": GarbageCollector,
        "endpoints": EndpointsController,
        "job": JobController,
        "daemonset": DaemonSetController,
        "nodeipam": NodeIpamController,
        "namespace": NamespaceController,
        "nodelifecycle": NodeLifecycleController,
        "servicelb": ServiceLoadBalancerController,
    }


def build_controllers(ctx: Context) -> list[Controller]:
    """The enabled controllers, handlers registered on ctx's informers (not started)."""
    factories = _factories()
    unknown = [n for n in ctx.settings.controllers if n not in ALL_CONTROLLERS]
    if unknown:
        raise ValueError(
            f"--controllers: unknown controller(s) {', '.join(unknown)} "
            f"(known: {', '.join(ALL_CONTROLLERS)})"
        )
    return [factories[n](ctx) for n in ctx.settings.controllers if n in factories]


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
