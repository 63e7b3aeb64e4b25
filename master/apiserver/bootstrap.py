"""What exists from the first start: the system namespaces and the default RBAC policy.

Every API server creates them at start; creating is a guarded transaction, so several
servers starting at once on one etcd agree and none fails. A default role or binding that
exists already is left as it is (Kubernetes would put a changed one back unless it is
marked `autoupdate: "false"`; here an administrator's change stays).
"""

from __future__ import annotations

from client import errors
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
