"""`/apis/metrics.k8s.io/v1beta1`: NodeMetrics and PodMetrics, the smallest metrics-server.

In Kubernetes this group is served by metrics-server behind the API aggregation layer;
metrics-server scrapes every kubelet each 15 s and answers from memory. Tugboat's kubelets
already hold the CPU rate between their last two samples (kubelet/stats/), so instead of a
second scraper with a second cache this module asks the kubelets concerned when a request
comes, over the API server's own node-agent connections (master/apiserver/nodeagents.py,
the ones `tug top`'s relay uses), all at once and each with a short deadline: a request
costs one `Stats` call per node involved, and the figures are never older than the
kubelet's sampling period. A node that does not answer in time is left out, as
metrics-server leaves out a node it failed to scrape; so is a pod with no sample yet.

Only get and list are served (metrics-server has no watch), with label selectors, and field
selectors on pods; access is authorized as `get`/`list` on `pods.metrics.k8s.io` and
`nodes.metrics.k8s.io`, the resources metrics-server's aggregated-metrics-reader grants.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import grpc
import structlog
from aiohttp import web

from client import errors
from client.kinds import Kind, by_resource
from client.metricsapi import API_VERSION, NODE_METRICS, POD_METRICS, node_metrics, pod_metrics
from master.apiserver import nodeagents
from master.apiserver.access import Request as AccessRequest
from master.apiserver.auth.user import UserInfo
from master.apiserver.listing import list_objects
from master.apiserver.rest import flowheaders, status
from master.apiserver.rest.encoding import encode
from master.apiserver.rest.impersonation import acting_user
from master.apiserver.rest.status import HttpError
from master.apiserver.selection import parse
from master.apiserver.service import ResourcesService
from proto import core_pb2, metrics_pb2, nodeagent_pb2, nodeagent_pb2_grpc

__all__ = ["ResourceMetricsApi"]

log = structlog.get_logger("apiserver.resourcemetrics")

PREFIX = f"/apis/{API_VERSION}"
STATS_TIMEOUT = 5.0
"""Seconds a kubelet has to answer before its node is left out of the answer."""
PODS, NODES = by_resource("pods"), by_resource("nodes")


def _not_found() -> HttpError:
    return HttpError("NotFound", "the server could not find the requested resource")


class ResourceMetricsApi:
    """The HTTP routes of metrics.k8s.io/v1beta1 over one API server's store and kubelets."""

    def __init__(self, service: ResourcesService) -> None:
        self.service = service

    def routes(self) -> list[web.RouteDef]:
        """The group's routes; registered before the generic `/apis/{group}/...` ones."""
        return [web.route("*", PREFIX + "/{tail:.+}", self._serve)]

    async def _serve(self, request: web.Request) -> web.Response:
        kind: Kind | None = None
        name = ""
        try:
            if request.method != "GET":
                raise HttpError(
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                )
            kind, namespace, name = self._target(request.match_info["tail"])
            if request.query.get("watch", "").lower() in ("1", "true"):
                raise HttpError("MethodNotAllowed", "metrics.k8s.io serves no watch")
            described, user = await self._authorize(request, kind, namespace, name)
            q = request.query
            selection = parse(q.get("labelSelector", ""), q.get("fieldSelector", ""))
            verb = "get" if name else "list"
            async with self.service.gate.admit(
                verb, kind.resource, described, user, flowheaders.remember(request)
            ):
                if kind is NODE_METRICS:
                    found: list[Any] = await self._nodes(name, selection)
                else:
                    found = await self._pods(namespace, name, selection)
            if name:
                if not found:
                    raise errors.NotFound(f'{kind.singular}.{kind.group} "{name}" not found')
                return _json(encode(found[0]))
            return _json(
                {
                    "kind": f"{kind.kind}List",
                    "apiVersion": API_VERSION,
                    "metadata": {},
                    "items": [encode(m) for m in found],
                }
            )
        except (errors.ApiError, HttpError) as e:
            return status.respond(status.of_error(e, kind, name))

    @staticmethod
    def _target(tail: str) -> tuple[Kind, str, str]:
        """(kind, namespace, name) of `nodes[/NAME]`, `pods`, `namespaces/NS/pods[/NAME]`."""
        parts = [p for p in tail.split("/") if p]
        namespace = ""
        if len(parts) >= 3 and parts[0] == "namespaces":
            namespace, parts = parts[1], parts[2:]
        if not parts or len(parts) > 2 or parts[0] not in ("nodes", "pods"):
            raise _not_found()
        kind = NODE_METRICS if parts[0] == "nodes" else POD_METRICS
        if namespace and kind is NODE_METRICS:
            raise _not_found()
        return kind, namespace, parts[1] if len(parts) > 1 else ""

    async def _authorize(
        self, request: web.Request, kind: Kind, namespace: str, name: str
    ) -> tuple[AccessRequest | None, UserInfo | None]:
        """The request and its user once allowed (None, None without access control)."""
        access = self.service.access
        if not access.enabled:
            return None, None
        verb = "get" if name else "list"
        user = await acting_user(access, request)
        described = AccessRequest(verb, kind, namespace, name)
        await access.authorize(described, user)
        return described, user

    async def _stats(self, node: str) -> nodeagent_pb2.StatsResponse | None:
        """The node's kubelet's answer, or None when it has none to give in time."""
        try:
            target = await nodeagents.node_agent(self.service.registry, node)
            async with nodeagents.dial(target) as channel:
                stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
                answer: nodeagent_pb2.StatsResponse = await stub.Stats(
                    nodeagent_pb2.StatsRequest(node=node), timeout=STATS_TIMEOUT
                )
        except (errors.ApiError, grpc.aio.AioRpcError, OSError) as e:
            log.info("no stats from node", key=f"nodes/{node}", error=str(e))
            return None
        return answer if answer.timestamp else None

    async def _all_stats(self, nodes: Iterable[str]) -> list[nodeagent_pb2.StatsResponse]:
        answers = await asyncio.gather(*(self._stats(n) for n in sorted(set(nodes))))
        return [a for a in answers if a is not None]

    async def _nodes(self, name: str, selection: Any) -> list[metrics_pb2.NodeMetrics]:
        if name:
            try:
                await self.service.registry.get(NODES, "", name)
            except errors.NotFound:
                return []
            names = [name]
        else:
            page = await list_objects(self.service.etcd, NODES, "", selection)
            names = [n.metadata.name for n in page.items]
        found = [node_metrics(s) for s in await self._all_stats(names)]
        return sorted(found, key=lambda m: m.metadata.name)

    async def _pods(
        self, namespace: str, name: str, selection: Any
    ) -> list[metrics_pb2.PodMetrics]:
        if name:
            try:
                pods: list[Any] = [await self.service.registry.get(PODS, namespace, name)]
            except errors.NotFound:
                return []
        else:
            pods = list((await list_objects(self.service.etcd, PODS, namespace, selection)).items)
        wanted: dict[tuple[str, str], core_pb2.Pod] = {}
        by_node: dict[str, int] = defaultdict(int)
        for pod in pods:
            if isinstance(pod, core_pb2.Pod) and pod.spec.node_name:
                wanted[(pod.metadata.namespace, pod.metadata.name)] = pod
                by_node[pod.spec.node_name] += 1
        found = []
        for stats in await self._all_stats(by_node):
            for metrics in pod_metrics(stats):
                pod = wanted.get((metrics.metadata.namespace, metrics.metadata.name))
                if pod is None or not metrics.containers:
                    continue
                metrics.metadata.labels.update(pod.metadata.labels)
                found.append(metrics)
        return sorted(found, key=lambda m: (m.metadata.namespace, m.metadata.name))


def _json(body: Any) -> web.Response:
    return web.Response(text=json.dumps(body), content_type="application/json")
