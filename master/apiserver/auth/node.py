"""The node authorizer: what a kubelet (`system:node:<name>`, group `system:nodes`) may do.

A kubelet may write only its own Node and Lease, the status of pods bound to it and
Events about them; it may read every Node, Service and Endpoints (it needs them for pod
networking and service environment variables), the pods bound to it, and only those
Secrets and ConfigMaps that its pods use; it may get single PersistentVolumeClaims and
PersistentVolumes (to mount its pods' claims), and read RuntimeClasses (its pods'
handlers). It may ask for a token only for the ServiceAccount of one of its pods.

Decisions that depend on a stored object are split as Kubernetes splits them: this
authorizer answers from the pod graph (who runs what); checks against the object being
written (a pod's stored nodeName on a status update or a delete, an Event's involved
object) are the node-restriction admission plugin's, which sees the stored object.

The graph is fed by a watch and may trail a just-bound pod by a moment; a request the
graph would refuse is checked once more against etcd (`NodeLookup`) before it is
refused, so a kubelet never waits on the watch to read its new pod's Secret.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from client.selectors import parse_field_selector
from master.apiserver.auth.attributes import ALLOW, NO_OPINION, Attributes, Decision
from master.apiserver.auth.graph import PodGraph, PodRefs
from master.apiserver.auth.user import node_name

__all__ = ["LEASE_NAMESPACE", "NodeAuthorizer", "NodeLookup"]

LEASE_NAMESPACE = "kube-node-lease"
_READ = ("get", "list", "watch")

NodeLookup = Callable[[str, str], Awaitable[dict[str, PodRefs]]]
"""(node, namespace) -> the pods bound to `node` in `namespace` by name, read from etcd."""


def _deny(reason: str) -> Decision:
    return Decision(False, reason, opinion=False)


class NodeAuthorizer:
    """Decides for kubelets; no opinion on anyone else."""

    def __init__(self, graph: PodGraph, lookup: NodeLookup | None = None) -> None:
        self.graph = graph
        self.lookup = lookup

    async def authorize(self, a: Attributes) -> Decision:
        node = node_name(a.user)
        if node is None:
            return NO_OPINION
        if not a.is_resource_request:
            return NO_OPINION  # health, metrics: RBAC's public-info roles decide
        group, resource, sub, verb = a.api_group, a.resource, a.subresource, a.verb
        if group == "" and resource == "nodes":
            if verb in _READ and not sub:
                return ALLOW
            if verb in ("create", "update", "patch") and a.name == node:
                return ALLOW
            return _deny(f'node "{node}" may only create and update its own Node')
        if group == "coordination.k8s.io" and resource == "leases":
            if a.namespace == LEASE_NAMESPACE and a.name == node and verb in (
                "get", "create", "update", "patch"
            ):
                return ALLOW
            return _deny(f'node "{node}" may only use its own Lease in {LEASE_NAMESPACE}')
        if group == "" and resource == "pods":
            return await self._pods(node, a)
        if group == "" and resource == "events":
            if verb in ("create", "update", "patch", "get"):
                return ALLOW  # node-restriction admission checks what the Event is about
            return _deny(f'node "{node}" may only record Events')
        if group == "" and resource in ("services", "endpoints") and verb in _READ:
            return ALLOW
        if group == "" and resource == "namespaces" and verb == "get":
            return ALLOW
        if group == "node.k8s.io" and resource == "runtimeclasses" and verb in _READ:
            # Its pods' handlers: Kubernetes' system:node rule, which the node authorizer
            # applies to everything it does not subdivide.
            return ALLOW
        if group == "" and resource in ("persistentvolumeclaims", "persistentvolumes"):
            # To mount a pod's claim. Kubernetes allows only those of its pods (a graph
            # edge pod -> claim -> volume); here any single one: they hold no secret.
            if verb == "get" and a.name:
                return ALLOW
            return _deny(f'node "{node}" may only get single {resource}')
        if group == "" and resource in ("secrets", "configmaps"):
            if verb != "get" or not a.name:
                return _deny(f'node "{node}" may only get single {resource} its pods use')
            if await self._uses(node, a.namespace, resource, a.name):
                return ALLOW
            return _deny(
                f'no relationship found between node "{node}" and this object'
            )
        if group == "" and resource == "serviceaccounts" and sub == "token" and verb == "create":
            if await self._uses(node, a.namespace, "serviceaccounts", a.name):
                return ALLOW
            return _deny(f'no pod of node "{node}" runs as ServiceAccount {a.namespace}/{a.name}')
        return _deny(f'node "{node}" is not allowed to {verb} {a.full_resource}')

    async def _pods(self, node: str, a: Attributes) -> Decision:
        verb, sub = a.verb, a.subresource
        if verb in ("list", "watch") and not sub:
            if _selects_node(a.field_selector, node):
                return ALLOW
            return _deny(
                f'node "{node}" may only {verb} pods with the field selector spec.nodeName={node}'
            )
        if verb == "get" and not sub:
            refs = self.graph.pod(a.namespace, a.name)
            if refs is not None and refs.node == node:
                return ALLOW
            if self.lookup is not None and a.name in await self.lookup(node, a.namespace):
                return ALLOW
            return _deny(f'node "{node}" may only get pods bound to it')
        if (verb in ("update", "patch") and sub == "status") or (verb == "delete" and not sub):
            # Only pods bound to this node (Kubernetes leaves this to its NodeRestriction
            # admission; here the graph the node authorizer keeps already knows).
            refs = self.graph.pod(a.namespace, a.name)
            if refs is None and self.lookup is not None:
                refs = (await self.lookup(node, a.namespace)).get(a.name)
            if refs is not None and refs.node == node:
                return ALLOW
            return _deny(f'node "{node}" may only {verb} pods bound to it')
        return _deny(f'node "{node}" may not {verb} {a.full_resource}')

    async def _uses(self, node: str, namespace: str, resource: str, name: str) -> bool:
        check = {
            "secrets": self.graph.node_uses_secret,
            "configmaps": self.graph.node_uses_configmap,
            "serviceaccounts": self.graph.node_uses_service_account,
        }[resource]
        if check(node, namespace, name):
            return True
        if self.lookup is None:
            return False
        for refs in (await self.lookup(node, namespace)).values():
            used = {
                "secrets": refs.secrets,
                "configmaps": refs.configmaps,
                "serviceaccounts": frozenset([refs.service_account]),
            }[resource]
            if name in used:
                return True
        return False


def _selects_node(selector: str, node: str) -> bool:
    """Whether a field selector restricts a pod list to spec.nodeName=node."""
    try:
        parsed = parse_field_selector(selector)
    except ValueError:
        return False
    return any(
        r.field == "spec.nodeName" and r.op in ("=", "==") and r.value == node
        for r in parsed.requirements
    )
