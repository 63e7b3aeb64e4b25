"""What exists from the first start: the system namespaces, the default RBAC policy,
the default IngressClass and the default StorageClass.

Every API server creates them at start; creating is a guarded transaction, so several
servers starting at once on one etcd agree and none fails. A default role or binding that
exists already is left as it is (Kubernetes would put a changed one back unless it is
marked `autoupdate: "false"`; here an administrator's change stays).
"""

from __future__ import annotations

from client import errors, ingresses, storage
from client.kinds import by_resource
from master.apiserver.auth import bootstrap_policy
from master.apiserver.registry import NAMESPACES, Registry

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SERVICE_ACCOUNTS = by_resource("serviceaccounts")


async def ensure_system_namespaces(registry: Registry) -> None:
    """Create each system namespace that does not exist yet."""
    for name in SYSTEM_NAMESPACES:
        ns = NAMESPACES.new()
        ns.metadata.name = name
        try:
            await registry.create(NAMESPACES, "", ns.SerializeToString())
        except errors.AlreadyExists:
            # Made before namespaces came with a `default` ServiceAccount: add it.
            sa = SERVICE_ACCOUNTS.new()
            sa.metadata.name, sa.metadata.namespace = "default", name
            try:
                await registry.create(SERVICE_ACCOUNTS, name, sa.SerializeToString())
            except errors.AlreadyExists:
                continue


async def ensure_default_policy(registry: Registry) -> None:
    """Create each default ClusterRole and ClusterRoleBinding that does not exist yet."""
    defaults = [
        *((by_resource("clusterroles"), role) for role in bootstrap_policy.cluster_roles()),
        *(
            (by_resource("clusterrolebindings"), binding)
            for binding in bootstrap_policy.cluster_role_bindings()
        ),
    ]
    for kind, obj in defaults:
        try:
            await registry.create(kind, "", obj.SerializeToString())
        except errors.AlreadyExists:
            continue


INGRESS_CLASSES = by_resource("ingressclasses")


async def ensure_default_ingress_class(registry: Registry) -> None:
    """Create the IngressClass `tugboat`, the default class, unless it exists: Tugboat
    ships its ingress controller in every node's proxy, so an Ingress written without a
    class (most tutorials' examples) is served, as on a cluster whose installer made its
    controller's class the default. An administrator's change or deletion of the default
    annotation stays; a deleted class comes back at the next API server start."""
    ic = INGRESS_CLASSES.new()
    ic.metadata.name = ingresses.DEFAULT_CLASS
    ic.metadata.annotations[ingresses.DEFAULT_ANNOTATION] = "true"
    ic.spec.controller = ingresses.CONTROLLER  # type: ignore[union-attr]
    try:
        await registry.create(INGRESS_CLASSES, "", ic.SerializeToString())
    except errors.AlreadyExists:
        return


STORAGE_CLASSES = by_resource("storageclasses")


async def ensure_default_storage_class(registry: Registry) -> None:
    """Create the StorageClass `local-path`, the default class, unless it exists: as on
    k3s, a claim written without a class (a StatefulSet's volumeClaimTemplates in most
    tutorials) gets a directory on the node its first pod is scheduled to, made by the
    controller manager's local-path provisioner. WaitForFirstConsumer, so the volume is
    made where the pod can run; Delete, so a deleted claim takes its data with it. An
    administrator's change of the default annotation stays; a deleted class comes back at
    the next API server start."""
    sc = STORAGE_CLASSES.new()
    sc.metadata.name = storage.LOCAL_PATH_CLASS
    sc.metadata.annotations[storage.DEFAULT_CLASS_ANNOTATION] = "true"
    sc.provisioner = storage.LOCAL_PATH_PROVISIONER  # type: ignore[union-attr]
    sc.reclaim_policy = "Delete"  # type: ignore[union-attr]
    sc.volume_binding_mode = "WaitForFirstConsumer"  # type: ignore[union-attr]
    try:
        await registry.create(STORAGE_CLASSES, "", sc.SerializeToString())
    except errors.AlreadyExists:
        return
