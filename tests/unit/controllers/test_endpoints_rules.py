"""The Endpoints of a Service as Kubernetes 1.32's endpoints controller writes them:
marked headless when the Service has no cluster IP, named ports found on sidecars too,
none for an ExternalName Service."""

from __future__ import annotations

from master.controllers.endpoints import EndpointsController
from tests.unit.controllers.memory_api import MemoryApi
from tests.unit.controllers.service_objects import NS, ip, pod, service, sync_once


async def test_a_headless_services_endpoints_carry_the_headless_label() -> None:
    api = MemoryApi()
    api.put(service(clusterIP="None"))
    api.put(pod("a", ip(1)))
    await sync_once(api, EndpointsController)
    ep = api.stored("endpoints", NS, "web")
    assert dict(ep.metadata.labels) == {"tier": "front", "service.kubernetes.io/headless": ""}

    api.put(service())  # a Service with a cluster IP never carries it
    await sync_once(api, EndpointsController)
    assert dict(api.stored("endpoints", NS, "web").metadata.labels) == {"tier": "front"}


async def test_a_named_target_port_is_found_on_a_sidecar() -> None:
    api = MemoryApi()
    api.put(service(ports=[{"name": "metrics", "port": 9000, "protocol": "TCP",
                            "targetPort": "metrics"}]))  # fmt: skip
    p = pod("a", ip(1))
    sidecar = p.spec.init_containers.add(
        name="exporter", image="exporter:1", restart_policy="Always"
    )
    sidecar.ports.add(name="metrics", container_port=9100, protocol="TCP")
    plain_init = p.spec.init_containers.add(name="setup", image="busybox:1.35")
    plain_init.ports.add(name="setup", container_port=7000, protocol="TCP")
    api.put(p)
    await sync_once(api, EndpointsController)
    (subset,) = api.stored("endpoints", NS, "web").subsets
    assert [(a.ip, [p.port for p in subset.ports]) for a in subset.addresses] == [(ip(1), [9100])]


async def test_an_external_name_service_gets_no_endpoints_even_with_a_selector() -> None:
    api = MemoryApi()
    api.put(service(type="ExternalName", externalName="db.example.com", clusterIP=""))
    api.put(pod("a", ip(1)))
    await sync_once(api, EndpointsController)
    assert api.stored("endpoints", NS, "web") is None
