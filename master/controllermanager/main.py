"""`tug-controller-manager`: runs the controllers while it leads (master/leaderelection/).

The controllers themselves live in `master/controllers/`; each is listed in
`CONTROLLERS` as a coroutine function taking the term's fenced ApiClient. While it
leads, it also serves the cluster-state metrics (kube-state-metrics' names) from the
controllers' informers at /metrics/state on its status port; a standby serves none.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog

from client.api import ApiClient
from client.statusserver import metrics_route
from master.controllers import run_controllers
from master.controllers.flags import add_flags as controller_flags
from master.controllers.flags import settings_from
from master.leaderelection.elected import parse_options, run_elected
from master.leaderelection.election import Leadership
from master.statemetrics.collector import StateMetrics, state_registry

COMPONENT = "tug-controller-manager"
STATE_METRICS_PATH = "/metrics/state"
"""Where the leader serves kube_* series (Prometheus' kube-state-metrics job)."""
log = structlog.get_logger(COMPONENT)

Controller = Callable[[ApiClient], Coroutine[Any, Any, None]]

CONTROLLERS: dict[str, Controller] = {}
"""Controller name -> its run coroutine; each runs until cancelled."""


async def work(api: ApiClient, leadership: Leadership) -> None:
    """Run every controller until the term ends; one failing ends the term (and restarts)."""
    log.info("controllers starting", revision=leadership.revision, controllers=sorted(CONTROLLERS))
    async with asyncio.TaskGroup() as tg:
        for name, run in CONTROLLERS.items():
            tg.create_task(run(api), name=name)
        # Keep the term open even with no controllers: the Lease is still kept.
        tg.create_task(asyncio.Event().wait())


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `tug-controller-manager`."""
    opts, args = parse_options(
        COMPONENT, "The Tugboat controller manager (leader-elected).", argv, controller_flags
    )
    state = StateMetrics()
    CONTROLLERS["controllers"] = functools.partial(
        run_controllers, settings=settings_from(args), state=state
    )
    routes = [metrics_route(STATE_METRICS_PATH, state_registry(state))]
    asyncio.run(run_elected(COMPONENT, opts, work, routes))


if __name__ == "__main__":
    main()
