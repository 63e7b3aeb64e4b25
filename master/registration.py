"""Where each master component's metrics are: a registration Lease per running process.

Prometheus must scrape every API server, scheduler and controller manager, standbys
included (a standby's `tugboat_leader_is_leader 0` is what tells "no leader" from "no
scheduler"). The leader's election Lease names only the leader, so each process also
keeps a Lease of its own in kube-system, as kube-apiserver keeps its identity Lease:
`tugboat-<component>-<identity>`, labelled with the component, annotated with its
status address, renewed every few seconds. The API server's discovery lists them.

A process that stops cleanly deletes its Lease, so it leaves discovery at once; one that
crashes leaves its Lease behind, so Prometheus keeps its target and sees it down until
the Lease has been unrenewed for an hour (then discovery drops it, as kube-apiserver
collects stale identity Leases).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field

import structlog

from client.api import ApiClient
from client.errors import AlreadyExists, ApiError, Conflict, NotFound
from client.timeouts import within
from client.timestamps import try_epoch
from master.leaderelection.lease import LEASE_NAMESPACE, micro_time
from proto import workloads_pb2

log = structlog.get_logger("registration")

COMPONENT_LABEL = "tugboat.io/component"
ADDRESS_ANNOTATION = "tugboat.io/metrics-address"
"""host:port of the component's status port (/metrics)."""
SCHEME_ANNOTATION = "prometheus.io/scheme"
"""https when the status port serves TLS (an API server with a certificate); else absent."""
LEASE_PREFIX = "tugboat-"
DURATION_SECONDS = 15
RENEW_INTERVAL = 5.0


STALE_AFTER = 3600.0
"""Seconds after its last renewal that a registration is a process long gone."""


@dataclass(frozen=True)
class Registered:
    """One live registration, as its readers (discovery, component statuses) need it."""

    component: str
    identity: str
    address: str
    """host:port of the status port."""
    scheme: str
    """http, or https when the status port serves TLS."""


def registered(leases: Iterable[workloads_pb2.Lease], now: float) -> list[Registered]:
    """The registrations among `leases` renewed within STALE_AFTER of `now` (epoch
    seconds), by Lease name; a Lease without component, address or a readable renewal
    time is none."""
    found = []
    for lease in sorted(leases, key=lambda x: x.metadata.name):
        component = lease.metadata.labels.get(COMPONENT_LABEL, "")
        address = lease.metadata.annotations.get(ADDRESS_ANNOTATION, "")
        renewed = try_epoch(lease.spec.renew_time) if lease.spec.renew_time else None
        if not component or not address or renewed is None or now - renewed > STALE_AFTER:
            continue
        scheme = lease.metadata.annotations.get(SCHEME_ANNOTATION, "http")
        found.append(Registered(component, lease.spec.holder_identity, address, scheme))
    return found


def lease_name(component: str, identity: str) -> str:
    """A valid object name from the component and its identity."""
    raw = f"{LEASE_PREFIX}{component}-{identity}".lower()
    return re.sub(r"[^a-z0-9.-]+", "-", raw).strip("-.")[:253]


@dataclass(eq=False)
class Registration:
    """Keeps this process's registration Lease until cancelled, then deletes it."""

    api: ApiClient
    _: KW_ONLY
    component: str
    identity: str
    address: str
    """host:port of the status port, for the ADDRESS_ANNOTATION."""
    renew_interval: float = RENEW_INTERVAL
    scheme: str = "http"
    name: str = field(init=False)
    """The Lease's name (`lease_name`)."""

    def __post_init__(self) -> None:
        self.name = lease_name(self.component, self.identity)
        self._log = log.bind(key=f"leases/{LEASE_NAMESPACE}/{self.name}")

    async def run(self) -> None:
        """Write the Lease every interval; errors are logged and retried; deleted on cancel."""
        try:
            while True:
                try:
                    await self._renew()
                except ApiError as e:
                    self._log.warning("registration not renewed", error=e.message)
                await asyncio.sleep(self.renew_interval)
        finally:
            with contextlib.suppress(ApiError, TimeoutError):
                await within(self.api.delete("leases", LEASE_NAMESPACE, self.name), 2.0)

    async def _renew(self) -> None:
        for _ in range(3):
            try:
                current = await self.api.get("leases", LEASE_NAMESPACE, self.name)
            except NotFound:
                try:
                    await self.api.create(self._lease(None))
                    self._log.info("registered", address=self.address)
                    return
                except AlreadyExists:
                    continue
            assert isinstance(current, workloads_pb2.Lease)
            try:
                await self.api.update(self._lease(current))
                return
            except (Conflict, NotFound):
                continue

    def _lease(self, current: workloads_pb2.Lease | None) -> workloads_pb2.Lease:
        lease = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
        if current is not None:
            lease.CopyFrom(current)
        lease.metadata.name = self.name
        lease.metadata.namespace = LEASE_NAMESPACE
        lease.metadata.labels[COMPONENT_LABEL] = self.component
        lease.metadata.annotations[ADDRESS_ANNOTATION] = self.address
        if self.scheme != "http":
            lease.metadata.annotations[SCHEME_ANNOTATION] = self.scheme
        now = micro_time()
        if current is None:
            lease.spec.acquire_time = now
        lease.spec.holder_identity = self.identity
        lease.spec.lease_duration_seconds = DURATION_SECONDS
        lease.spec.renew_time = now
        return lease
