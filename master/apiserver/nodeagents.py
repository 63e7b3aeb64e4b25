"""Where a pod's or a node's kubelet answers node-agent calls (logs, exec, stats).

Both front-ends need it: the gRPC NodeProxy relays NodeAgent calls, the HTTP API serves
`pods/log` and `pods/exec`. The address is the node's InternalIP and the node-agent port
its kubelet published in `status.daemonEndpoints`; a pod with no node yet, or a node that
publishes no endpoint, is an error that says which.

`dial` opens the channel to an agent: TLS when the API server has kubelet credentials
(kube-apiserver's --kubelet-certificate-authority and --kubelet-client-certificate), so
the kubelet's serving certificate is verified and the kubelet knows the API server by its
own. Like the encryption transformer, they are the process's: one API server per process.
"""

from __future__ import annotations

import grpc.aio

from client import errors
from client.kinds import by_resource
from client.tls import ClientCredentials
from client.tls import dial as dial_with
from master.apiserver.registry import Registry
from proto import core_pb2

_kubelet_tls: ClientCredentials | None = None


def set_kubelet_tls(tls: ClientCredentials | None) -> ClientCredentials | None:
    """Use `tls` for every channel to a kubelet from now on; the previous value."""
    global _kubelet_tls
    previous, _kubelet_tls = _kubelet_tls, tls
    return previous


def dial(target: str) -> grpc.aio.Channel:
    """A channel to the node agent at `target` (host:port)."""
    return dial_with(target, _kubelet_tls)


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
