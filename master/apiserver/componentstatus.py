"""ComponentStatuses (`kubectl get cs`): the control plane's health, probed on each request.

kube-apiserver serves the deprecated v1 ComponentStatus from no storage at all: a get or
a list calls each component's health endpoint there and then and answers with one
`Healthy` condition per component (pkg/registry/core/componentstatus). So does this module,
and nothing of it ever reaches etcd: only get and list are served; every write, and
watch, is refused as kube-apiserver refuses them (405 MethodNotAllowed).

Each probe is kube-apiserver's HTTP prober, with its results and its words: a 2xx answer
is Success with the body as the message (capped at 10 KiB); another status is Failure
with "HTTP probe failed with statuscode: N"; no answer is Failure with Go's error text as
the message (`Get "http://…/healthz": dial tcp …: connect: connection refused`), which is
what people read in the MESSAGE column of an unhealthy row; a validator (etcd's) that
rejects the body is Failure with the body as message and its complaint as the error.

What is probed differs from kube-apiserver where Tugboat's control plane does:
- kube-apiserver probes the scheduler and controller manager on fixed ports of its own
  host. Tugboat's run on any master at any status port, and each process says where in
  its registration Lease (master/registration.py, what Prometheus' discovery reads), so
  every registered instance of the component is probed at once; the component is
  Healthy when any of them answers (a standby takes over within its lease), and the
  row shows the elected instance's answer when it has one. With no instance registered
  there is nothing to probe: Unhealthy, saying so.
- etcd-N is the N-th of this server's --etcd-servers, probed at its own /health (over
  TLS with this server's etcd client certificate when it has one), so a member down in a
  three-member etcd shows as itself. kube-apiserver 1.32 names one etcd-N per storage
  backend instead (one for the whole --etcd-servers list) and checks it by a read
  through its storage client; with one member the two agree.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import aiohttp
import structlog
from yarl import URL

from client import errors
from client.kinds import COMPONENT_STATUSES, by_resource
from master.apiserver.etcd import Etcd
from master.apiserver.selection import Selection, parse
from master.apiserver.watchcache import WatchCache
from master.leaderelection.lease import LEASE_NAMESPACE
from master.registration import COMPONENT_LABEL, registered
from proto import core_pb2, workloads_pb2

__all__ = [
    "DEPRECATION",
    "ComponentStatuses",
    "Probe",
    "condition_of",
    "etcd_health_check",
    "not_allowed",
    "probe_http",
]

log = structlog.get_logger("apiserver.componentstatus")

DEPRECATION = "v1 ComponentStatus is deprecated in v1.19+"
"""The Warning every get and list carries, in kube-apiserver's words."""
PROBE_TIMEOUT = 20.0
"""Seconds a health endpoint has to answer: kube-apiserver's probeTimeOut."""
MAX_BODY = 10 * 1024
"""The most of an answer's body kept as the message, as Kubernetes' HTTP prober reads."""
COMPONENTS = {"controller-manager": "tug-controller-manager", "scheduler": "tug-scheduler"}
"""Each ComponentStatus name and the Tugboat component it reports, in kube-apiserver's
order (which its Go map then shuffles; a fixed one reads better)."""
LEASES = by_resource("leases")

SUCCESS, FAILURE, UNKNOWN = "Success", "Failure", "Unknown"
"""A probe's result, as Kubernetes' probe.Result names them."""

Validator = Callable[[str], str | None]
"""Judges a 2xx body: None when it says healthy, else the error."""


@dataclass(frozen=True)
class Probe:
    """What one check found: kube-apiserver's (probe.Result, message, error)."""

    result: str
    message: str
    error: str = ""


def condition_of(probe: Probe) -> core_pb2.ComponentCondition:
    """The `Healthy` condition of a probe (kube-apiserver's ToConditionStatus)."""
    status = {SUCCESS: "True", FAILURE: "False"}.get(probe.result, "Unknown")
    return core_pb2.ComponentCondition(
        type="Healthy", status=status, message=probe.message, error=probe.error
    )


def component_status(name: str, probe: Probe) -> core_pb2.ComponentStatus:
    """The ComponentStatus `name` with the probe's one condition."""
    found = COMPONENT_STATUSES.new()
    assert isinstance(found, core_pb2.ComponentStatus)
    found.metadata.name = name
    found.conditions.append(condition_of(probe))
    return found


def etcd_health_check(body: str) -> str | None:
    """etcd's /health answer judged as Kubernetes' EtcdHealthCheck judges it."""
    try:
        health = json.loads(body).get("health")
    except (ValueError, AttributeError) as e:
        return str(e)
    return None if health == "true" else f"Unhealthy status: {health}"


def _dial_error(host: str, port: int, error: BaseException) -> str:
    """Go's net/http words for a connection that never opened."""
    cause = getattr(error, "os_error", error)
    if isinstance(cause, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(cause, OSError) and cause.errno:
        text = os.strerror(cause.errno)
        # Go's syscall messages are lower-case ("connection refused").
        return f"dial tcp {host}:{port}: connect: {text[:1].lower()}{text[1:]}"
    return f"dial tcp {host}:{port}: {cause}"


async def probe_http(
    session: aiohttp.ClientSession,
    url: str,
    *,
    tls: ssl.SSLContext | bool = True,
    validate: Validator | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Probe:
    """GET `url` as kube-apiserver's component prober does (see the module's docstring)."""
    parsed = URL(url)
    host, port = parsed.host or "", parsed.port or 0
    try:
        async with session.get(
            url, ssl=tls, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as answer:
            raw = b""
            while len(raw) < MAX_BODY and (more := await answer.content.read(MAX_BODY - len(raw))):
                raw += more
            status = answer.status
    except TimeoutError:
        what = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        return Probe(FAILURE, f'Get "{url}": {what}')
    except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as e:
        # Before the connector's other errors, which they are too: an ssl error's errno
        # is no socket's.
        return Probe(FAILURE, f'Get "{url}": tls: {e}')
    except aiohttp.ClientConnectorError as e:
        return Probe(FAILURE, f'Get "{url}": {_dial_error(host, port, e)}')
    except aiohttp.ServerDisconnectedError:
        return Probe(FAILURE, f'Get "{url}": EOF')
    except (aiohttp.ClientError, OSError) as e:
        return Probe(FAILURE, f'Get "{url}": {e}')
    # A Tugboat status port ends its "ok" with a newline, which would end kubectl's row.
    body = raw.decode("utf-8", "replace").rstrip("\n")
    if not 200 <= status < 400:
        return Probe(FAILURE, f"HTTP probe failed with statuscode: {status}")
    if validate is not None and (error := validate(body)) is not None:
        return Probe(FAILURE, body, error)
    return Probe(SUCCESS, body)


@dataclass(frozen=True)
class Instance:
    """One registered process of a component: who it is and where its /healthz is."""

    identity: str
    url: str
    https: bool


def instances(leases: Iterable[workloads_pb2.Lease], component: str, now: float) -> list[Instance]:
    """The component's live registered processes (master/registration.py), by name."""
    return [
        Instance(r.identity, f"{r.scheme}://{r.address}/healthz", r.scheme == "https")
        for r in registered(leases, now)
        if r.component == component
    ]


def pick(probes: Sequence[tuple[Instance, Probe]], leader: str) -> Probe:
    """One answer for a component of several instances: the elected one's if healthy, else
    any healthy one's, else the elected one's failure (else the first's)."""
    if not probes:
        return Probe(FAILURE, "", "")
    ranked = sorted(probes, key=lambda p: p[0].identity != leader)
    healthy = [p for _, p in ranked if p.result == SUCCESS]
    return healthy[0] if healthy else ranked[0][1]


def not_allowed(verb: str) -> errors.StatusError:
    """The refusal of any verb but get and list, as kube-apiserver answers it: the watch
    by its list handler, the writes by its router (no such route)."""
    if verb == "watch":
        message = f'watch is not supported on resources of kind "{COMPONENT_STATUSES.resource}"'
    else:
        message = "the server does not allow this method on the requested resource"
    return errors.StatusError(message, http_code=405, reason="MethodNotAllowed")


class ComponentStatuses:
    """Builds ComponentStatuses for one API server: its etcd members, and the schedulers
    and controller managers registered in its store."""

    def __init__(self, etcd: Etcd, cache: WatchCache, *, timeout: float = PROBE_TIMEOUT) -> None:
        self.etcd = etcd
        self.cache = cache
        self.timeout = timeout
        self._etcd_tls: ssl.SSLContext | None = None

    def names(self) -> list[str]:
        """Every component reported: the two masters' components, then etcd-0, etcd-1, …"""
        return [*COMPONENTS, *(f"etcd-{n}" for n in range(len(self.etcd.endpoints)))]

    async def all(self, selection: Selection | None = None) -> list[core_pb2.ComponentStatus]:
        """Every component's status, probed at once; selectors judged as on stored kinds
        (kube-apiserver filters them too, though the objects carry no labels)."""
        async with aiohttp.ClientSession() as session:
            found = await asyncio.gather(*(self._status(session, n) for n in self.names()))
        return [s for s in found if selection is None or selection.matches(s)]

    async def get(self, name: str) -> core_pb2.ComponentStatus:
        """One component's status; an unknown name is kube-apiserver's internal error."""
        if name not in self.names():
            raise errors.InternalError(f"Internal error occurred: Component not found: {name}")
        async with aiohttp.ClientSession() as session:
            return await self._status(session, name)

    async def _status(self, session: aiohttp.ClientSession, name: str) -> core_pb2.ComponentStatus:
        if name in COMPONENTS:
            probe = await self._component(session, COMPONENTS[name])
        else:
            probe = await self._etcd_member(session, int(name.removeprefix("etcd-")))
        return component_status(name, probe)

    async def _etcd_member(self, session: aiohttp.ClientSession, index: int) -> Probe:
        tls: ssl.SSLContext | bool = True
        scheme = "http"
        if self.etcd.tls is not None:
            if self._etcd_tls is None:
                # ssl loads a client certificate only from files: written in a thread.
                self._etcd_tls = await asyncio.to_thread(self.etcd.tls.ssl_context)
            tls, scheme = self._etcd_tls, "https"
        # --etcd-servers are host:port, though a URL's scheme is tolerated.
        address = self.etcd.endpoints[index].rpartition("://")[2]
        url = f"{scheme}://{address}/health"
        return await probe_http(
            session, url, tls=tls, validate=etcd_health_check, timeout=self.timeout
        )

    async def _component(self, session: aiohttp.ClientSession, component: str) -> Probe:
        registered = await self._registered(component)
        if not registered:
            return Probe(
                FAILURE,
                "",
                f"no {component} is registered (a Lease labelled {COMPONENT_LABEL}="
                f"{component} in {LEASE_NAMESPACE})",
            )
        answers = await asyncio.gather(
            *(
                # As kube-apiserver: a component's serving certificate is not verified.
                probe_http(session, i.url, tls=False if i.https else True, timeout=self.timeout)
                for i in registered
            )
        )
        return pick(list(zip(registered, answers, strict=True)), await self._leader(component))

    async def _registered(self, component: str) -> list[Instance]:
        # From the watch cache (resourceVersion 0): registrations renew every few seconds,
        # and a health check should cost etcd nothing.
        page = await self.cache.serve_list(
            LEASES,
            LEASE_NAMESPACE,
            parse(f"{COMPONENT_LABEL}={component}", ""),
            resource_version="0",
        )
        leases = [x for x in page.items if isinstance(x, workloads_pb2.Lease)]
        return instances(leases, component, time.time())

    async def _leader(self, component: str) -> str:
        """Who holds the component's election Lease ("" when nobody does)."""
        page = await self.cache.serve_list(
            LEASES, LEASE_NAMESPACE, parse("", f"metadata.name={component}"), resource_version="0"
        )
        held = [x for x in page.items if isinstance(x, workloads_pb2.Lease)]
        return held[0].spec.holder_identity if held else ""
