"""`tug autoscale deploy/NAME --min N --max M --cpu-percent P`: kubectl's autoscale.

It makes an autoscaling/v2 HorizontalPodAutoscaler named after the workload (or --name)
whose target is that workload, after checking, as kubectl does, that the workload exists
and that --max is given and not below --min. Without --cpu-percent the HPA has no metric
and the API server's default applies (cpu at 80 %); without --min, minReplicas is left to
its default (1). Any kind with a /scale view can be the target (client/scale.py).
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands._workloads import get, target
from cli.errors import CliError
from cli.invocation import Invocation
from client import errors, kinds
from client.kinds import KINDS
from client.scale import is_scalable
from proto import autoscaling_pb2

SCALABLE = tuple(k.resource for k in KINDS if is_scalable(k))


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug autoscale`."""
    p = sub.add_parser(
        "autoscale", parents=[common], help="make a HorizontalPodAutoscaler for a workload"
    )
    p.add_argument("resource", nargs="+", metavar="TYPE/NAME")
    p.add_argument("--min", type=int, default=-1, help="the lowest replica count")
    p.add_argument("--max", type=int, default=-1, help="the highest replica count (required)")
    p.add_argument(
        "--cpu-percent", type=int, default=-1, help="the average cpu utilization to aim for"
    )
    p.add_argument("--name", default="", help="the HPA's name (default: the workload's)")
    p.set_defaults(func=run)


def build(
    kind: kinds.Kind, name: str, namespace: str, args: argparse.Namespace
) -> autoscaling_pb2.HorizontalPodAutoscaler:
    """The HPA the flags describe."""
    if args.max < 1:
        raise CliError(f"--max=MAXPODS is required and must be at least 1, max: {args.max}")
    if args.min >= 0 and args.max < args.min:
        raise CliError(
            f"--max=MAXPODS must be larger or equal to --min=MINPODS, max: {args.max}, "
            f"min: {args.min}"
        )
    hpa = kinds.by_resource("horizontalpodautoscalers").new()
    assert isinstance(hpa, autoscaling_pb2.HorizontalPodAutoscaler)
    hpa.metadata.name = args.name or name
    hpa.metadata.namespace = namespace
    ref = hpa.spec.scale_target_ref
    ref.api_version, ref.kind, ref.name = kind.api_version, kind.kind, name
    if args.min >= 0:
        hpa.spec.min_replicas = args.min
    hpa.spec.max_replicas = args.max
    if args.cpu_percent >= 0:
        metric = hpa.spec.metrics.add(type="Resource")
        metric.resource.name = "cpu"
        metric.resource.target.type = "Utilization"
        metric.resource.target.average_utilization = args.cpu_percent
    return hpa


async def run(inv: Invocation) -> int:
    """Create the HPA; `horizontalpodautoscaler.autoscaling/NAME autoscaled`."""
    kind, name = target(inv.args.resource, SCALABLE)
    namespace = inv.namespace()
    hpa = build(kind, name, namespace, inv.args)
    async with inv.client() as api:
        await get(api, kind, namespace, name)
        try:
            await api.create(hpa)
        except errors.AlreadyExists:
            raise CliError(
                f'horizontalpodautoscalers.autoscaling "{hpa.metadata.name}" already exists'
            ) from None
        except errors.Invalid as e:
            raise CliError(e.message) from None
    inv.out(f"horizontalpodautoscaler.autoscaling/{hpa.metadata.name} autoscaled")
    return 0
