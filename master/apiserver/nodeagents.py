"""Where a pod's or a node's kubelet answers node-agent calls (logs, exec, stats).

Both front-ends need it: the gRPC NodeProxy relays NodeAgent calls, the HTTP API serves
`pods/log` and `pods/exec`. The address is the node's InternalIP and the node-agent port
its kubelet published in `status.daemonEndpoints`; a pod with no node yet, or a node that
publishes no endpoint, is an error that says which.
"""

from __future__ import annotations

from client import errors
from client.kinds import by_resource
from master.apiserver.registry import Registry
from proto import core_pb2


async def node_agent(registry: Registry, node_name: str) -> str:
    """host:port of a node's agent."""
    node = await registry.get(by_resource("nodes"), "", node_name)
    assert isinstance(node, core_pb2.Node)
    address = next((a.address for a in node.status.addresses if a.type == "InternalIP"), "")
    port = node.status.daemon_endpoints.kubelet_endpoint.port
    if not address or not port:
        raise errors.Unavailable(f'node "{node_name}" publishes no node-agent endpoint')
    return f"{address}:{port}"


async def pod_agent(registry: Registry, namespace: str, name: str) -> str:
    """host:port of the agent of the node that runs the pod."""
    pod = await registry.get(by_resource("pods"), namespace or "default", name)
    assert isinstance(pod, core_pb2.Pod)
    if not pod.spec.node_name:
        raise errors.BadRequest(f'pod "{name}" is not scheduled to a node yet')
    return await node_agent(registry, pod.spec.node_name)
