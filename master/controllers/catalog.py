"""Which controllers exist, by the name each controller class carries.

A controller's name is its class attribute `name` (the `--controllers` spelling, as
kube-controller-manager's); this tuple of classes is the one list of them, so adding a
controller is adding its class here. Imported only when controllers are built or the
flags are parsed, so that importing one controller module does not import them all.
"""

from __future__ import annotations

from collections.abc import Iterable

from master.controllers.base import Controller
from master.controllers.certificates.cleaner import CSRCleaner
from master.controllers.certificates.signing import CSRSigningController
from master.controllers.cronjob import CronJobController
from master.controllers.daemonset import DaemonSetController
from master.controllers.deployment import DeploymentController
from master.controllers.disruption import DisruptionController
from master.controllers.endpoints import EndpointsController
from master.controllers.endpointslice import EndpointSliceController
from master.controllers.ephemeral_volume import EphemeralVolumeController
from master.controllers.garbagecollector import GarbageCollector
from master.controllers.horizontal import HorizontalController
from master.controllers.ingress_status import IngressStatusController
from master.controllers.job import JobController
from master.controllers.local_path import LocalPathProvisioner
from master.controllers.namespace import NamespaceController
from master.controllers.nodeipam import NodeIpamController
from master.controllers.nodelifecycle import NodeLifecycleController
from master.controllers.persistentvolume import PersistentVolumeBinder
from master.controllers.pv_protection import PVProtectionController
from master.controllers.pvc_protection import PVCProtectionController
from master.controllers.replicaset import ReplicaSetController, ReplicationManager
from master.controllers.resourcequota import ResourceQuotaController
from master.controllers.service_lb import ServiceLoadBalancerController
from master.controllers.statefulset import StatefulSetController

__all__ = ["CONTROLLERS", "by_name", "names", "resolve"]

CONTROLLERS: tuple[type[Controller], ...] = (
    ReplicaSetController,
    ReplicationManager,
    DeploymentController,
    DaemonSetController,
    StatefulSetController,
    JobController,
    CronJobController,
    HorizontalController,
    NodeLifecycleController,
    EndpointsController,
    EndpointSliceController,
    DisruptionController,
    GarbageCollector,
    NamespaceController,
    NodeIpamController,
    ServiceLoadBalancerController,
    IngressStatusController,
    ResourceQuotaController,
    PersistentVolumeBinder,
    PVCProtectionController,
    PVProtectionController,
    EphemeralVolumeController,
    LocalPathProvisioner,
    CSRSigningController,
    CSRCleaner,
)


def names() -> tuple[str, ...]:
    """Every controller's name, in the order they start."""
    return tuple(c.name for c in CONTROLLERS)


def by_name() -> dict[str, type[Controller]]:
    return {c.name: c for c in CONTROLLERS}


def resolve(chosen: Iterable[str] | None) -> tuple[str, ...]:
    """The names to run: all for None or "*", else `chosen`; ValueError naming the unknown."""
    wanted = tuple(chosen) if chosen is not None else ("*",)
    if wanted == ("*",):
        return names()
    unknown = [n for n in wanted if n not in by_name()]
    if unknown:
        raise ValueError(
            f"--controllers: unknown controller(s) {', '.join(unknown)} "
            f"(known: {', '.join(names())})"
        )
    return wanted
