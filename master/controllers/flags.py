"""The controller manager's flags, and the ControllerSettings they make.

Kept here, beside the settings they fill, so that `tug-controller-manager` only has to
add them to its parser; every bad value exits with a message naming the flag.
"""

from __future__ import annotations

import argparse

from client.flags import from_flags, seconds
from master.controllers import catalog
from master.controllers.nodeipam import CIDRError, node_ranges
from master.controllers.settings import ControllerSettings

_D = ControllerSettings()


def add_flags(p: argparse.ArgumentParser) -> None:
    """Add the controllers' flags (defaults from ControllerSettings)."""
    g = p.add_argument_group("controllers")
    g.add_argument(
        "--controllers",
        default="*",
        help=f"comma-separated controllers to run, * for all ({','.join(catalog.names())})",
    )
    g.add_argument("--concurrent-syncs", type=int, default=_D.workers, help="workers each")
    g.add_argument("--node-monitor-period", type=seconds, default=_D.node_monitor_period)
    g.add_argument(
        "--node-monitor-grace-period",
        type=seconds,
        default=_D.node_monitor_grace_period,
        help="seconds without a Lease renewal before a node is Unknown (Kubernetes: 40)",
    )
    g.add_argument(
        "--node-startup-grace-period",
        type=seconds,
        default=_D.node_startup_grace_period,
    )
    g.add_argument(
        "--node-eviction-rate",
        type=float,
        default=_D.node_eviction_rate,
        help="nodes per second tainted for eviction in a healthy zone",
    )
    g.add_argument(
        "--secondary-node-eviction-rate",
        type=float,
        default=_D.secondary_node_eviction_rate,
        help="the same when a zone is partly disrupted",
    )
    g.add_argument("--unhealthy-zone-threshold", type=float, default=_D.unhealthy_zone_threshold)
    g.add_argument("--cluster-cidr", default=_D.cluster_cidr, help="pod network of the cluster")
    g.add_argument("--node-cidr-mask-size", type=int, default=_D.node_cidr_mask_size)
    g.add_argument("--service-cluster-ip-range", default=_D.service_cluster_ip_range)
    g.add_argument(
        "--job-backoff",
        type=seconds,
        default=_D.job_backoff_base,
        help="seconds before a failed Job pod is replaced, doubling (Kubernetes: 10)",
    )
    g.add_argument(
        "--local-path-dir",
        default=_D.local_path_dir,
        help="the directory on each node holding the local-path provisioner's volumes",
    )
    g.add_argument(
        "--local-path-helper-image",
        default=_D.local_path_helper_image,
        help="image of the pod that removes a deleted local-path volume's directory",
    )
    for name, text in (
        ("sync-period", "seconds between two looks at each HorizontalPodAutoscaler"),
        ("downscale-stabilization", "scale-down window of an HPA whose behavior sets none"),
        ("tolerance", "usage within this fraction of the target changes nothing"),
        ("cpu-initialization-period", "seconds a starting pod's cpu needs it to be ready"),
        ("initial-readiness-delay", "seconds after start a pod may still become ready"),
    ):
        field = "horizontal_pod_autoscaler_" + name.replace("-", "_")
        g.add_argument(
            f"--horizontal-pod-autoscaler-{name}",
            type=float if name == "tolerance" else seconds,
            default=getattr(_D, field),
            help=text,
        )


def settings_from(args: argparse.Namespace) -> ControllerSettings:
    """The settings the flags give; SystemExit naming the flag when one is bad."""
    chosen = tuple(n.strip() for n in args.controllers.split(",") if n.strip())
    try:
        names = catalog.resolve(chosen)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    positive = {
        "--concurrent-syncs": args.concurrent_syncs,
        "--node-monitor-period": args.node_monitor_period,
        "--node-monitor-grace-period": args.node_monitor_grace_period,
        "--node-startup-grace-period": args.node_startup_grace_period,
        "--horizontal-pod-autoscaler-sync-period": args.horizontal_pod_autoscaler_sync_period,
    }
    for flag, value in positive.items():
        if value <= 0:
            raise SystemExit(f"{flag}: must be greater than 0, got {value}")
    for flag, value in {
        "--node-eviction-rate": args.node_eviction_rate,
        "--secondary-node-eviction-rate": args.secondary_node_eviction_rate,
        "--job-backoff": args.job_backoff,
        "--horizontal-pod-autoscaler-downscale-stabilization": (
            args.horizontal_pod_autoscaler_downscale_stabilization
        ),
        "--horizontal-pod-autoscaler-tolerance": args.horizontal_pod_autoscaler_tolerance,
    }.items():
        if value < 0:
            raise SystemExit(f"{flag}: must not be negative, got {value}")
    if not 0 < args.unhealthy_zone_threshold <= 1:
        raise SystemExit(
            f"--unhealthy-zone-threshold: must be in (0, 1], got {args.unhealthy_zone_threshold}"
        )
    try:
        node_ranges(args.cluster_cidr, args.node_cidr_mask_size)
    except CIDRError as e:
        raise SystemExit(str(e)) from None
    return from_flags(
        ControllerSettings,
        args,
        controllers=names,
        workers=args.concurrent_syncs,
        job_backoff_base=args.job_backoff,
    )
