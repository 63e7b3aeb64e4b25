"""The controller manager's flags, and the ControllerSettings they make.

Kept here, beside the settings they fill, so that `tug-controller-manager` only has to
add them to its parser; every bad value exits with a message naming the flag.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from client.flags import from_flags, seconds
from master.controllers import catalog
from master.controllers.certificates.authority import Authority, AuthorityError
from master.controllers.nodeipam import CIDRError, node_ranges
from master.controllers.settings import ControllerSettings

_D = ControllerSettings()

_Check = Literal["", "positive", "non-negative"]


class _Flag(NamedTuple):
    """One flag filling one ControllerSettings field (and taking its default from it)."""

    name: str
    type: Callable[[str], Any] = str
    help: str | None = None
    check: _Check = ""
    """What settings_from refuses beyond what the type refuses."""
    field: str = ""
    """The settings field, when it is not named as the flag is."""

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def settings_field(self) -> str:
        return self.field or self.dest


_HPA = "horizontal-pod-autoscaler-"
_SIGNING = "cluster-signing-"

_FLAGS = (
    _Flag("concurrent-syncs", int, "workers each", "positive", field="workers"),
    _Flag(
        "pod-updates-batch-period",
        seconds,
        "seconds a pod update waits to share its owner's sync with later ones (0: none)",
        "non-negative",
    ),
    _Flag("node-monitor-period", seconds, check="positive"),
    _Flag(
        "node-monitor-grace-period",
        seconds,
        "seconds without a Lease renewal before a node is Unknown (Kubernetes: 40)",
        "positive",
    ),
    _Flag("node-startup-grace-period", seconds, check="positive"),
    _Flag(
        "node-eviction-rate",
        float,
        "nodes per second tainted for eviction in a healthy zone",
        "non-negative",
    ),
    _Flag(
        "secondary-node-eviction-rate",
        float,
        "the same when a zone is partly disrupted",
        "non-negative",
    ),
    _Flag("unhealthy-zone-threshold", float),
    _Flag("cluster-cidr", help="pod network of the cluster"),
    _Flag("node-cidr-mask-size", int),
    _Flag("service-cluster-ip-range"),
    _Flag(
        "job-backoff",
        seconds,
        "seconds before a failed Job pod is replaced, doubling (Kubernetes: 10)",
        "non-negative",
        field="job_backoff_base",
    ),
    _Flag(
        "local-path-dir",
        help="the directory on each node holding the local-path provisioner's volumes",
    ),
    _Flag(
        "local-path-helper-image",
        help="image of the pod that removes a deleted local-path volume's directory",
    ),
    _Flag(
        _HPA + "sync-period",
        seconds,
        "seconds between two looks at each HorizontalPodAutoscaler",
        "positive",
    ),
    _Flag(
        _HPA + "downscale-stabilization",
        seconds,
        "scale-down window of an HPA whose behavior sets none",
        "non-negative",
    ),
    _Flag(
        _HPA + "tolerance",
        float,
        "usage within this fraction of the target changes nothing",
        "non-negative",
    ),
    _Flag(
        _HPA + "cpu-initialization-period",
        seconds,
        "seconds a starting pod's cpu needs it to be ready",
    ),
    _Flag(
        _HPA + "initial-readiness-delay",
        seconds,
        "seconds after start a pod may still become ready",
    ),
    _Flag(
        _SIGNING + "cert-file",
        help="PEM CA certificate that signs approved CertificateSigningRequests "
        "(with --cluster-signing-key-file; neither: no csrsigning controller)",
    ),
    _Flag(_SIGNING + "key-file", help="PEM private key of --cluster-signing-cert-file"),
    _Flag(
        _SIGNING + "duration",
        seconds,
        "longest lifetime of a signed certificate (Kubernetes: 8760h)",
        "positive",
    ),
)
"""Every flag but --controllers, in --help order."""

_REFUSED = {"positive": "must be greater than 0", "non-negative": "must not be negative"}


def add_flags(p: argparse.ArgumentParser) -> None:
    """Add the controllers' flags (defaults from ControllerSettings)."""
    g = p.add_argument_group("controllers")
    g.add_argument(
        "--controllers",
        default="*",
        help=f"comma-separated controllers to run, * for all ({','.join(catalog.names())})",
    )
    for f in _FLAGS:
        g.add_argument(
            f"--{f.name}", type=f.type, default=getattr(_D, f.settings_field), help=f.help
        )


def settings_from(args: argparse.Namespace) -> ControllerSettings:
    """The settings the flags give; SystemExit naming the flag when one is bad."""
    chosen = tuple(n.strip() for n in args.controllers.split(",") if n.strip())
    try:
        names = catalog.resolve(chosen)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    # Positive checks before non-negative ones: of several bad flags, the one named is the
    # one it has always been.
    for check, refused in _REFUSED.items():
        for f in _FLAGS:
            value = getattr(args, f.dest)
            if f.check == check and (value <= 0 if check == "positive" else value < 0):
                raise SystemExit(f"--{f.name}: {refused}, got {value}")
    if not 0 < args.unhealthy_zone_threshold <= 1:
        raise SystemExit(
            f"--unhealthy-zone-threshold: must be in (0, 1], got {args.unhealthy_zone_threshold}"
        )
    try:
        node_ranges(args.cluster_cidr, args.node_cidr_mask_size)
    except CIDRError as e:
        raise SystemExit(str(e)) from None
    _check_signing(args.cluster_signing_cert_file, args.cluster_signing_key_file)
    renamed = {f.field: getattr(args, f.dest) for f in _FLAGS if f.field}
    return from_flags(ControllerSettings, args, controllers=names, **renamed)


def _check_signing(cert_file: str, key_file: str) -> None:
    """Both signing files or neither; given, a CA the controller can sign with, else exit
    naming the flag and file at start, not at the first request hours later."""
    cert_flag, key_flag = f"--{_SIGNING}cert-file", f"--{_SIGNING}key-file"
    if bool(cert_file) != bool(key_file):
        given, missing = (cert_flag, key_flag) if cert_file else (key_flag, cert_flag)
        raise SystemExit(
            f"{cert_flag} and {key_flag} go together: {given} is given, {missing} is not"
        )
    if not cert_file:
        return
    try:
        Authority.load(cert_file, key_file)
    except AuthorityError as e:
        raise SystemExit(f"{cert_flag if e.file == 'cert' else key_flag}: {e}") from None
