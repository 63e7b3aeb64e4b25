"""`tug scale deploy/NAME --replicas N` (also rs, sts, and KIND NAME)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands._workloads import label, modify, target
from cli.errors import CliError
from cli.invocation import Invocation
from client.kinds import KINDS
from client.scale import is_scalable

SCALABLE = tuple(k.resource for k in KINDS if is_scalable(k))
"""Every kind with a /scale view (client/scale.py): deployments, replicasets, statefulsets."""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug scale`."""
    p = sub.add_parser("scale", parents=[common], help="set the replicas of a workload")
    p.add_argument("resource", nargs="+", metavar="TYPE/NAME")
    p.add_argument("--replicas", type=int, required=True, help="the new number of replicas")
    p.add_argument(
        "--current-replicas",
        type=int,
        default=-1,
        help="only scale when the current replicas are this many",
    )
    p.set_defaults(func=run)


async def run(inv: Invocation) -> int:
    """Scale one workload."""
    args = inv.args
    if args.replicas < 0:
        raise CliError("--replicas: The replicas must be a non-negative integer")
    kind, name = target(args.resource, SCALABLE)

    def change(obj: Any) -> bool:
        if args.current_replicas >= 0 and obj.spec.replicas != args.current_replicas:
            raise CliError(
                f"Expected replicas to be {args.current_replicas}, was {obj.spec.replicas}"
            )
        if obj.spec.replicas == args.replicas:
            return False
        obj.spec.replicas = args.replicas
        return True

    async with inv.client() as api:
        await modify(api, kind, inv.namespace(), name, change)
    inv.out(f"{label(kind, name)} scaled")
    return 0
