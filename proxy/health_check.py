"""Each Service's healthCheckNodePort: may a load balancer send this Service to this node?

A LoadBalancer Service with `externalTrafficPolicy: Local` is dropped by a node that has
none of its ready endpoints, so whatever balances across the nodes must ask each one.
The API server gives such a Service a `healthCheckNodePort`, and every node's proxy
answers HTTP there, as kube-proxy's service health server does: 200 while this node
holds a ready endpoint of the Service and the proxy is syncing, 503 otherwise, with a
JSON body naming the Service and the count (`localEndpoints`), and the count again in
`X-Load-Balancing-Endpoint-Weight` for balancers that weigh nodes by it. Any path is
answered alike, as kube-proxy's, because load balancers are configured with all sorts.

Tugboat's own LoadBalancer status already lists only nodes with an endpoint (the
servicelb controller), so these ports serve the load balancers users put in front of
their nodes: HAProxy, a cloud's, a hardware one. They listen on the node's address in
both proxy modes; the nftables rules match only the Services' nodePorts, so a socket on
this port is reached as it is.

One aiohttp server, one site (socket) per port, opened and closed by each sync; the
request's own socket says which Service it asks about. A port that cannot be bound now
(something else holds it) is logged and tried again at the next sync.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog
from aiohttp import web

from proto import core_pb2

__all__ = ["HealthCheck", "ServiceHealthServer", "health_checks"]

log = structlog.get_logger("proxy.health_check")


@dataclass(frozen=True)
class HealthCheck:
    """What one healthCheckNodePort answers for."""

    namespace: str
    name: str
    local_endpoints: int
    """Ready addresses of the Service on this node."""


def health_checks(
    services: Iterable[core_pb2.Service],
    endpoints: dict[str, core_pb2.Endpoints],
    node_name: str,
) -> dict[int, HealthCheck]:
    """By port: the Services that have a healthCheckNodePort, with their ready addresses
    on `node_name` (each address once, whatever its ports)."""
    checks: dict[int, HealthCheck] = {}
    for svc in services:
        port = svc.spec.health_check_node_port
        if not port:
            continue
        ns, name = svc.metadata.namespace, svc.metadata.name
        ep = endpoints.get(f"{ns}/{name}")
        local = {
            a.ip
            for subset in (ep.subsets if ep is not None else ())
            for a in subset.addresses
            if a.ip and node_name and a.node_name == node_name
        }
        checks[port] = HealthCheck(ns, name, len(local))
    return checks


class ServiceHealthServer:
    """The healthCheckNodePorts of one node; `sync(checks)` as the Services change, then
    `stop()`. `healthy()` says whether the proxy itself is keeping its rules current."""

    def __init__(self, address: str, healthy: Callable[[], bool]) -> None:
        self.address = address
        self.healthy = healthy
        self.checks: dict[int, HealthCheck] = {}
        self._runner: web.ServerRunner | None = None
        self._sites: dict[int, web.TCPSite] = {}
        self._errors: dict[int, str] = {}
        """Ports that could not be bound, with the error last logged for each."""

    @property
    def ports(self) -> set[int]:
        """The ports listened on now."""
        return set(self._sites)

    async def sync(self, checks: dict[int, HealthCheck]) -> None:
        """Listen on exactly the ports of `checks`, answering from them from now on."""
        # Ports that go are closed first, answering from the old checks until then, so a
        # probe that got in before the close is answered for what it asked about.
        for port in [p for p in self._sites if p not in checks]:
            await self._sites.pop(port).stop()
            gone = self.checks[port]
            log.info(
                "health check port closed",
                service=f"{gone.namespace}/{gone.name}",
                key=f"{self.address}:{port}",
            )
        self.checks = checks
        for port in [p for p in self._errors if p not in checks]:
            del self._errors[port]
        wanted = [p for p in checks if p not in self._sites]
        if not wanted:
            return
        if self._runner is None:
            self._runner = web.ServerRunner(web.Server(self._answer), access_log=None)
            await self._runner.setup()
        for port in wanted:
            check = checks[port]
            site = web.TCPSite(self._runner, self.address or None, port, reuse_address=True)
            service = f"{check.namespace}/{check.name}"
            try:
                await site.start()
            except OSError as e:
                if self._errors.get(port) != str(e):  # said once, tried again every sync
                    log.error(
                        "cannot listen for health checks", service=service, port=port, error=str(e)
                    )
                self._errors[port] = str(e)
                continue
            self._errors.pop(port, None)
            self._sites[port] = site
            log.info("health check port open", service=service, key=f"{self.address}:{port}")

    async def stop(self) -> None:
        """Close every port."""
        self._sites.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _answer(self, request: web.BaseRequest) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        check = self.checks.get(sockname[1]) if sockname else None
        if check is None:  # closed by a sync while this request was on its way
            return web.Response(status=404, text="no service health check on this port\n")
        healthy = self.healthy()
        body = {
            "service": {"namespace": check.namespace, "name": check.name},
            "localEndpoints": check.local_endpoints,
            "serviceProxyHealthy": healthy,
        }
        return web.Response(
            status=200 if healthy and check.local_endpoints > 0 else 503,
            text=json.dumps(body),
            content_type="application/json",
            headers={
                "X-Content-Type-Options": "nosniff",
                "X-Load-Balancing-Endpoint-Weight": str(check.local_endpoints),
            },
        )
