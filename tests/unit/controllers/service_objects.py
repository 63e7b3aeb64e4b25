"""Services, pods and nodes as the endpoints and endpointslice controllers' unit tests
seed them: namespace "shop", Service "web" selecting app=web, pods Running on node n1."""

from __future__ import annotations

from typing import Any

from client.codec import from_dict
from master.controllers.base import Controller
from proto import core_pb2, meta_pb2
from tests.unit.controllers.memory_api import MemoryApi, ago, synced

NS = "shop"


def service(
    *,
    ports: list[dict[str, Any]] | None = None,
    selector: dict[str, str] | None = None,
    **spec: Any,
) -> core_pb2.Service:
    """Service "web" (uid u-web, label tier=front) with a cluster IP unless `spec` says
    otherwise; port http 80 → targetPort http unless `ports` are given."""
    body = {
        "clusterIP": "10.96.0.10",
        "selector": {"app": "web"} if selector is None else selector,
        "ports": ports
        if ports is not None
        else [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}],
        **spec,
    }
    meta = {"name": "web", "namespace": NS, "uid": "u-web", "labels": {"tier": "front"}}
    return from_dict(core_pb2.Service, {"apiVersion": "v1", "kind": "Service",
                                        "metadata": meta, "spec": body})  # fmt: skip


def pod(
    name: str,
    ip: str,
    *,
    ready: bool = True,
    http: int = 8080,
    node: str = "n1",
    terminating: bool = False,
) -> core_pb2.Pod:
    """A Running pod app=web at `ip` whose container names port `http`."""
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name, p.metadata.namespace, p.metadata.uid = name, NS, f"uid-{name}"
    p.metadata.labels["app"] = "web"
    if terminating:
        p.metadata.deletion_timestamp = ago(1)
    container = p.spec.containers.add(name="main", image="busybox:1.35")
    container.ports.add(name="http", container_port=http, protocol="TCP")
    p.spec.node_name = node
    p.status.phase = "Running"
    p.status.pod_ip = ip
    p.status.conditions.append(
        meta_pb2.Condition(type="Ready", status="True" if ready else "False")
    )
    return p


def node(name: str, zone: str = "") -> core_pb2.Node:
    n = core_pb2.Node(api_version="v1", kind="Node")
    n.metadata.name = name
    if zone:
        n.metadata.labels["topology.kubernetes.io/zone"] = zone
    return n


def ip(i: int) -> str:
    """The i-th pod address, distinct for i below 64 516."""
    return f"172.30.{i // 254}.{i % 254 + 1}"


async def sync_once(api: MemoryApi, make: type[Controller], key: str = f"{NS}/web") -> None:
    """One sync of `key` by a fresh controller of class `make` over what `api` holds."""
    async with synced(api, make) as (controller, _):
        await controller.sync(key)
