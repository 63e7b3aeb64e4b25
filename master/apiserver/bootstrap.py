"""What exists from the first start: the system namespaces.

Every API server creates them at start; creating is a guarded transaction, so several
servers starting at once on one etcd agree and none fails.
"""

from __future__ import annotations

from client import errors
from master.apiserver.registry import NAMESPACES, Registry

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def ensure_system_namespaces(registry: Registry) -> None:
    """Create each system namespace that does not exist yet."""
    for name in SYSTEM_NAMESPACES:
        ns = NAMESPACES.new()
        ns.metadata.name = name
        try:
            await registry.create(NAMESPACES, "", ns.SerializeToString())
        except errors.AlreadyExists:
            continue
