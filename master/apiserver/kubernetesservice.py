"""The `kubernetes` Service in `default`: how a process in a pod finds the API.

As kube-apiserver's lease endpoint reconciler: the Service has no selector, and every API
server keeps its Endpoints equal to the HTTP addresses of the API servers whose
registration Leases (master/registration.py) are fresh. Pods reach it at
`kubernetes.default.svc:443` through the proxy, which forwards to whichever API server's
REST port is listed; with `tug up --secure` that port speaks HTTPS with the cluster's
certificate, which the pods' ServiceAccount ca.crt verifies.

Every API server runs the loop; their writes agree, and a lost race is simply redone on
the next round. API servers on one host share an address with different ports, so each
port gets a subset of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import structlog

from client.api import ApiClient
from client.errors import AlreadyExists, ApiError, Conflict, NotFound
from client.timestamps import try_epoch
from master.leaderelection.lease import LEASE_NAMESPACE
from master.registration import ADDRESS_ANNOTATION, COMPONENT_LABEL
from proto import core_pb2

log = structlog.get_logger("apiserver.kubernetes-service")

NAME, NAMESPACE, PORT_NAME, PORT = "kubernetes", "default", "https", 443
INTERVAL = 5.0
COMPONENT = "tug-apiserver"


def desired_subsets(leases: list[Any], now: float) -> list[core_pb2.EndpointSubset]:
    """One subset per port, of the addresses of the API servers with fresh leases."""
    by_port: dict[int, set[str]] = defaultdict(set)
    for lease in leases:
        renewed = try_epoch(lease.spec.renew_time)
        if renewed is None or renewed + lease.spec.lease_duration_seconds < now:
            continue
        host, _, port = lease.metadata.annotations.get(ADDRESS_ANNOTATION, "").rpartition(":")
        if host and host not in ("0.0.0.0", "::") and port.isdigit():
            by_port[int(port)].add(host)
    subsets = []
    for port in sorted(by_port):
        subset = core_pb2.EndpointSubset()
        for ip in sorted(by_port[port]):
            subset.addresses.add(ip=ip)
        subset.ports.add(name=PORT_NAME, port=port, protocol="TCP")
        subsets.append(subset)
    return subsets


class KubernetesService:
    """Keeps the `kubernetes` Service and its Endpoints until cancelled."""

    def __init__(self, api: ApiClient, interval: float = INTERVAL) -> None:
        self.api = api
        self.interval = interval

    async def run(self) -> None:
        while True:
            try:
                await self.reconcile()
            except ApiError as e:
                log.warning("kubernetes service not reconciled", key=f"{NAMESPACE}/{NAME}",
                            error=e.message)  # fmt: skip
            await asyncio.sleep(self.interval)

    async def reconcile(self) -> None:
        await self._ensure_service()
        leases = await self.api.list(
            "leases", LEASE_NAMESPACE, label_selector=f"{COMPONENT_LABEL}={COMPONENT}"
        )
        subsets = desired_subsets(list(leases.items), time.time())
        try:
            current: Any = await self.api.get("endpoints", NAMESPACE, NAME)
        except NotFound:
            current = None
        if current is not None and list(current.subsets) == subsets:
            return
        endpoints = core_pb2.Endpoints(api_version="v1", kind="Endpoints")
        if current is not None:
            endpoints.CopyFrom(current)
        endpoints.metadata.name, endpoints.metadata.namespace = NAME, NAMESPACE
        del endpoints.subsets[:]
        endpoints.subsets.extend(subsets)
        try:
            if current is None:
                await self.api.create(endpoints)
            else:
                await self.api.update(endpoints)
            log.info("kubernetes endpoints", key=f"endpoints/{NAMESPACE}/{NAME}",
                     servers=sum(len(s.addresses) for s in subsets))  # fmt: skip
        except (AlreadyExists, Conflict):
            pass  # another API server wrote it first: the next round compares again

    async def _ensure_service(self) -> None:
        svc = core_pb2.Service(api_version="v1", kind="Service")
        svc.metadata.name, svc.metadata.namespace = NAME, NAMESPACE
        svc.metadata.labels["component"] = "apiserver"
        svc.metadata.labels["provider"] = "kubernetes"
        port = svc.spec.ports.add(name=PORT_NAME, port=PORT, protocol="TCP")
        port.target_port.int_val = PORT
        try:
            await self.api.get("services", NAMESPACE, NAME)
        except NotFound:
            try:
                await self.api.create(svc)
            except AlreadyExists:
                pass
