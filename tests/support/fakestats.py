"""A stand-in kubelet that answers only `Stats`, with usage the test sets.

The metrics API (master/apiserver/rest/resourcemetrics.py) and the HPA controller reach
kubelets the real way: a Node publishing an InternalIP and a node-agent port, a gRPC
channel to it. This server is what answers there, so the whole path but the cgroup
sampling is the real one, and a test decides each pod's cpu and memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc.aio

from client.api import ApiClient
from client.errors import AlreadyExists, Conflict
from client.timestamps import now
from proto import core_pb2, meta_pb2, nodeagent_pb2, nodeagent_pb2_grpc


@dataclass
class FakeStats(nodeagent_pb2_grpc.NodeAgentServicer):
    """Answers Stats for one node: every pod in `usage` ((namespace, name) -> (millicores,
    bytes)), or, when `source` is set, every pod it gives at the time of the call."""

    node: str
    usage: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    source: Callable[[], dict[tuple[str, str], tuple[int, int]]] | None = None
    window: float = 1.0
    calls: int = 0
    port: int = 0
    _server: Any = None

    async def Stats(
        self, request: nodeagent_pb2.StatsRequest, context: Any
    ) -> nodeagent_pb2.StatsResponse:
        self.calls += 1
        answer = nodeagent_pb2.StatsResponse(
            node=self.node, timestamp=now(), window_seconds=self.window
        )
        total_cpu = total_memory = 0
        usage = self.source() if self.source is not None else self.usage
        for (namespace, name), (millicores, memory) in sorted(usage.items()):
            pod = answer.pods.add(namespace=namespace, name=name)
            container = pod.containers.add(name="main")
            container.usage.cpu_nano_cores = millicores * 1_000_000
            container.usage.memory_working_set_bytes = memory
            total_cpu += millicores * 1_000_000
            total_memory += memory
        answer.usage.cpu_nano_cores = total_cpu
        answer.usage.memory_working_set_bytes = total_memory
        return answer

    async def start(self) -> None:
        self._server = grpc.aio.server()
        nodeagent_pb2_grpc.add_NodeAgentServicer_to_server(self, self._server)  # type: ignore[no-untyped-call]
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
            self._server = None

    async def publish(self, api: ApiClient) -> None:
        """Make the Node (Ready) exist and point its node-agent endpoint here."""
        node = core_pb2.Node(api_version="v1", kind="Node")
        node.metadata.name = self.node
        node.metadata.labels["kubernetes.io/hostname"] = self.node
        try:
            await api.create(node)
        except AlreadyExists:
            pass
        for _ in range(10):
            found = await api.get("nodes", "", self.node)
            assert isinstance(found, core_pb2.Node)
            st = found.status
            del st.addresses[:]
            st.addresses.add(type="InternalIP", address="127.0.0.1")
            st.daemon_endpoints.kubelet_endpoint.port = self.port
            st.capacity.update({"cpu": "4", "memory": "8Gi", "pods": "110"})
            st.allocatable.update({"cpu": "4", "memory": "8Gi", "pods": "110"})
            if not any(c.type == "Ready" for c in st.conditions):
                st.conditions.append(
                    meta_pb2.Condition(
                        type="Ready", status="True", reason="KubeletReady",
                        last_heartbeat_time=now(), last_transition_time=now(),
                    )
                )  # fmt: skip
            try:
                await api.update_status(found)
                return
            except Conflict:
                continue
        raise AssertionError(f"node {self.node} kept changing")
