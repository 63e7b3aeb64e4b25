"""Prometheus HTTP service discovery: every target of the cluster, from its own objects.

Debian's Prometheus has no Kubernetes discovery, so the API server serves the target
list Prometheus' `http_sd_configs` reads (GET /discovery/prometheus), refreshed from the
API on each request (cached a second), so targets come and go with the objects:

- API servers, schedulers and controller managers from their registration Leases
  (master/registration.py), standbys included; the controller managers once more as
  the `kube-state-metrics` job, at /metrics/state, which only the leader fills;
- every Node's kubelet (/metrics, and /metrics/cadvisor) and proxy, at its InternalIP
  and the cluster's kubelet and proxy status ports, whether or not the node is Ready:
  a dead kubelet must stay a target for Prometheus to see it down;
- every running pod annotated `prometheus.io/scrape: "true"`, at `prometheus.io/port`
  (else each declared container port), `prometheus.io/path` and `prometheus.io/scheme`;
- etcd, at the endpoints this API server uses.

Each group carries the `job` name kube-prometheus uses (apiserver, kubelet,
kube-scheduler, ...), so rules and dashboards written for it select the same series.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web

from client.api import ApiClient
from client.errors import ApiError, Unavailable
from master.registration import COMPONENT_LABEL, registered
from proto import core_pb2, workloads_pb2

log = structlog.get_logger("apiserver.discovery")

PATH = "/discovery/prometheus"
JOBS = {
    "tug-apiserver": "apiserver",
    "tug-scheduler": "kube-scheduler",
    "tug-controller-manager": "kube-controller-manager",
}
STATE_METRICS_PATH = "/metrics/state"
SCRAPE = "prometheus.io/scrape"
PORT = "prometheus.io/port"
METRICS_PATH = "prometheus.io/path"
SCHEME = "prometheus.io/scheme"

Group = dict[str, Any]


@dataclass(frozen=True)
class DiscoverySettings:
    """What the API server cannot read from objects: the node daemons' status ports."""

    kubelet_http_port: int = 10255
    """The kubelets' /metrics port on each node's InternalIP (Kubernetes' read-only port)."""
    proxy_http_port: int = 10249
    """The proxies' /metrics port on each node's InternalIP (kube-proxy's)."""
    etcd_servers: Sequence[str] = field(default_factory=list)
    etcd_scheme: str = "http"
    """https when this API server reaches etcd over TLS (Prometheus then shows its own
    client certificate, which etcd demands)."""


def _group(target: str, **labels: str) -> Group:
    return {"targets": [target], "labels": labels}


def registration_groups(leases: Sequence[workloads_pb2.Lease], now: float) -> list[Group]:
    """Master components from their registration Leases; stale ones left out."""
    out: list[Group] = []
    for r in registered(leases, now):
        job = JOBS.get(r.component, r.component)
        labels = {"component": r.component, "identity": r.identity}
        out.append(_group(r.address, job=job, **labels, __scheme__=r.scheme))
        if r.component == "tug-controller-manager":
            out.append(
                _group(
                    r.address,
                    job="kube-state-metrics",
                    **labels,
                    __metrics_path__=STATE_METRICS_PATH,
                )
            )
    return out


def node_groups(nodes: Sequence[core_pb2.Node], settings: DiscoverySettings) -> list[Group]:
    """Each node's kubelet (its metrics and its containers') and proxy."""
    out: list[Group] = []
    for node in sorted(nodes, key=lambda n: n.metadata.name):
        ip = next((a.address for a in node.status.addresses if a.type == "InternalIP"), "")
        if not ip:
            continue
        name = node.metadata.name
        kubelet = f"{ip}:{settings.kubelet_http_port}"
        for path in ("/metrics", "/metrics/cadvisor"):
            out.append(
                _group(kubelet, job="kubelet", node=name, metrics_path=path, __metrics_path__=path)
            )
        out.append(_group(f"{ip}:{settings.proxy_http_port}", job="kube-proxy", node=name))
    return out


def pod_groups(pods: Sequence[core_pb2.Pod]) -> list[Group]:
    """Running pods that ask to be scraped, at each port they name."""
    out: list[Group] = []
    for pod in sorted(pods, key=lambda p: (p.metadata.namespace, p.metadata.name)):
        notes = pod.metadata.annotations
        if notes.get(SCRAPE, "").lower() != "true" or pod.status.phase != "Running":
            continue
        if not pod.status.pod_ip:
            continue
        if notes.get(PORT, "").isdigit():
            ports = [int(notes[PORT])]
        else:
            ports = [p.container_port for c in pod.spec.containers for p in c.ports]
        for port in ports:
            out.append(
                _group(
                    f"{pod.status.pod_ip}:{port}",
                    job="kubernetes-pods",
                    namespace=pod.metadata.namespace,
                    pod=pod.metadata.name,
                    node=pod.spec.node_name,
                    __metrics_path__=notes.get(METRICS_PATH, "/metrics"),
                    __scheme__=notes.get(SCHEME, "http"),
                )
            )
    return out


class Discovery:
    """Serves the target groups, read through the API (one list per kind, cached 1 s)."""

    def __init__(self, settings: DiscoverySettings, max_age: float = 1.0) -> None:
        self.api: ApiClient | None = None
        """Set once the API server serves (discovery reads through its own API)."""
        self.settings = settings
        self.max_age = max_age
        self._cached: tuple[float, list[Group]] | None = None

    async def groups(self) -> list[Group]:
        """Every target group, as Prometheus' HTTP SD wants them."""
        if self.api is None:
            raise Unavailable("the API server is not serving yet")
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self.max_age:
            return self._cached[1]
        leases = await self.api.list("leases", "kube-system", label_selector=COMPONENT_LABEL)
        nodes = await self.api.list("nodes")
        pods = await self.api.list("pods")
        groups = [
            *registration_groups(list(leases.items), time.time()),  # type: ignore[arg-type]
            *node_groups(list(nodes.items), self.settings),  # type: ignore[arg-type]
            *pod_groups(list(pods.items)),  # type: ignore[arg-type]
            *(
                _group(e, job="etcd", __scheme__=self.settings.etcd_scheme)
                for e in self.settings.etcd_servers
            ),
        ]
        self._cached = (now, groups)
        return groups

    async def handle(self, _request: web.Request) -> web.Response:
        try:
            groups = await self.groups()
        except ApiError as e:
            # Prometheus keeps the previous targets when a refresh fails.
            log.warning("discovery failed", key=PATH, error=e.message)
            return web.json_response({"error": e.message}, status=503)
        return web.json_response(groups)

    def route(self) -> web.RouteDef:
        """GET /discovery/prometheus."""
        return web.get(PATH, self.handle)
