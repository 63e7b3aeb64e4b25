"""`tug-scheduler`: the scheduler daemon, active only while it leads (master/leaderelection/)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

import structlog

from client.api import ApiClient
from client.events import EventRecorder
from master.leaderelection.elected import ElectedOptions, Work, parse_options, run_elected
from master.leaderelection.election import Leadership
from master.scheduler.algorithm import DEFAULT_PLUGINS, Algorithm, profile
from master.scheduler.api_writer import ApiWriter
from master.scheduler.scheduler import DEFAULT_SCHEDULER_NAME, Scheduler
from master.scheduler.sources import Sources

COMPONENT = "tug-scheduler"
log = structlog.get_logger(COMPONENT)


def _extra_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--percentage-of-nodes-to-score",
        type=int,
        default=0,
        help="share of nodes to find feasible before scoring (0: adaptive, as Kubernetes)",
    )
    p.add_argument(
        "--plugins",
        default=",".join(DEFAULT_PLUGINS),
        help="the profile: registered plugins by name, in the order they run",
    )


def make_work(
    opts: ElectedOptions, percentage: int, plugins: Sequence[str] = DEFAULT_PLUGINS
) -> Work:
    """The leader-only work: informers, then the scheduling loop."""

    async def work(api: ApiClient, leadership: Leadership) -> None:
        recorder = EventRecorder(api, DEFAULT_SCHEDULER_NAME, opts.name)
        scheduler = Scheduler(
            ApiWriter(api, recorder),
            algorithm=Algorithm(profile=profile(plugins), percentage_of_nodes_to_score=percentage),
        )
        sources = Sources(api, scheduler)
        try:
            if not await sources.start():
                raise RuntimeError("informers did not sync within 60s")
            log.info("scheduling", identity=opts.name, revision=leadership.revision)
            await scheduler.run()
        finally:
            await sources.stop()
            # Queued Events go out before run_elected closes the client (or are dropped).
            await recorder.close()

    return work


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `tug-scheduler`."""
    opts, args = parse_options(
        COMPONENT, "The Tugboat scheduler (leader-elected).", argv, _extra_flags
    )
    if not 0 <= args.percentage_of_nodes_to_score <= 100:
        raise SystemExit("--percentage-of-nodes-to-score: must be within 0..100")
    plugins = [n.strip() for n in args.plugins.split(",") if n.strip()]
    try:
        profile(plugins)
    except ValueError as e:
        raise SystemExit(f"--plugins: {e}") from None
    work = make_work(opts, args.percentage_of_nodes_to_score, plugins)
    asyncio.run(run_elected(COMPONENT, opts, work))


if __name__ == "__main__":
    main()
