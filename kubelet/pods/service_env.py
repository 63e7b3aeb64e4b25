"""Kubernetes' service environment variables: `WEB_SERVICE_HOST`, `WEB_SERVICE_PORT`, ...

For every Service with a ClusterIP in the pod's namespace that exists when a container
starts, the container gets, as Kubernetes gives it (pkg/kubelet/envvars):

    {NAME}_SERVICE_HOST=<clusterIP>       {NAME}_SERVICE_PORT=<first port>
    {NAME}_SERVICE_PORT_{PORTNAME}=<port>  (each named port)
    {NAME}_PORT=tcp://<clusterIP>:<first port>
    {NAME}_PORT_<port>_<PROTO>=tcp://<clusterIP>:<port>  (+ _PROTO, _PORT, _ADDR)

with NAME the service name upper-cased and `-` turned into `_`. The pod's own `env`
wins over these. The services come from the kubelet's Service informer, as Kubernetes'
kubelet reads them from its service lister. Reading the services must never keep a pod
from starting: if the list fails the container starts without them (and the failure is
logged).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import structlog

from client.verbs import Lister
from proto import core_pb2

__all__ = ["ServiceCache", "service_env", "service_env_for"]

log = structlog.get_logger("kubelet.service_env")


def _name(text: str) -> str:
    return text.upper().replace("-", "_").replace(".", "_")


def service_env(services: Iterable[core_pb2.Service]) -> dict[str, str]:
    """The variables for these services (headless and port-less ones give none)."""
    env: dict[str, str] = {}
    for svc in sorted(services, key=lambda s: s.metadata.name):
        ip = svc.spec.cluster_ip
        if not ip or ip == "None" or not svc.spec.ports:
            continue
        name = _name(svc.metadata.name)
        first = svc.spec.ports[0]
        env[f"{name}_SERVICE_HOST"] = ip
        env[f"{name}_SERVICE_PORT"] = str(first.port)
        proto0 = (first.protocol or "TCP").lower()
        env[f"{name}_PORT"] = f"{proto0}://{ip}:{first.port}"
        for p in svc.spec.ports:
            proto = p.protocol or "TCP"
            if p.name:
                env[f"{name}_SERVICE_PORT_{_name(p.name)}"] = str(p.port)
            prefix = f"{name}_PORT_{p.port}_{proto}"
            env[prefix] = f"{proto.lower()}://{ip}:{p.port}"
            env[f"{prefix}_PROTO"] = proto.lower()
            env[f"{prefix}_PORT"] = str(p.port)
            env[f"{prefix}_ADDR"] = ip
    return env


class ServiceCache(Protocol):
    """The kubelet's Service informer (client.informer.Informer has this shape)."""

    def list(self, *, copy: bool = True) -> list[Any]: ...

    async def wait_synced(self, timeout: float | None = None) -> bool: ...


SYNC_WAIT = 5.0
"""How long a container start waits for the Service cache's first list before it reads
the services from the API instead (Kubernetes' kubelet refuses to start it until then)."""


async def service_env_for(
    api: object, pod: core_pb2.Pod, services: ServiceCache | None = None
) -> dict[str, str]:
    """The variables for the services of the pod's namespace now; {} if they cannot be read.

    From the kubelet's Service cache when it has one (a `list services` per container was
    one of the requests every pod cost); else `api`, the kubelet's API client; one that
    cannot list (a test double) gives {}.
    """
    namespace = pod.metadata.namespace
    if services is not None and await services.wait_synced(SYNC_WAIT):
        return service_env(
            s
            for s in services.list(copy=False)
            if isinstance(s, core_pb2.Service) and s.metadata.namespace == namespace
        )
    if not isinstance(api, Lister):
        return {}
    try:
        page = await api.list("services", pod.metadata.namespace)
    except Exception as e:  # the API being away must not stop the pod
        log.warning(
            "services not read for environment variables",
            pod=f"{pod.metadata.namespace}/{pod.metadata.name}",
            error=str(e),
        )
        return {}
    return service_env(s for s in page.items if isinstance(s, core_pb2.Service))
