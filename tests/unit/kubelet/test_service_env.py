"""Service environment variables and the pod resolver settings the kubelet gives pods."""

from __future__ import annotations

from typing import Any

from client.codec import from_dict
from kubelet.network.dns import is_local, sandbox_dns
from kubelet.pods.service_env import service_env, service_env_for
from proto import core_pb2


def svc(name: str, spec: dict[str, Any]) -> core_pb2.Service:
    return from_dict(core_pb2.Service, {"metadata": {"name": name, "namespace": "default"},
                                        "spec": spec})


def test_each_service_with_a_cluster_ip_gives_host_and_port_variables() -> None:
    env = service_env([
        svc("web", {"clusterIP": "172.30.255.5", "ports": [
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"name": "dns", "port": 53, "protocol": "UDP"}]}),
        svc("my-db", {"clusterIP": "172.30.255.6", "ports": [{"port": 5432}]}),
        svc("headless", {"clusterIP": "None", "ports": [{"port": 1}]}),
    ])

    assert env["WEB_SERVICE_HOST"] == "172.30.255.5"
    assert env["WEB_SERVICE_PORT"] == "80"
    assert env["WEB_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_PORT"] == "tcp://172.30.255.5:80"
    assert env["WEB_PORT_53_UDP"] == "udp://172.30.255.5:53"
    assert env["WEB_PORT_53_UDP_ADDR"] == "172.30.255.5"
    assert env["MY_DB_SERVICE_HOST"] == "172.30.255.6"
    assert not any(k.startswith("HEADLESS") for k in env)


async def test_without_a_lister_or_with_a_failing_api_there_are_no_service_variables() -> None:
    pod = core_pb2.Pod()
    pod.metadata.namespace = "default"

    class Broken:
        async def list(self, resource: str, namespace: str) -> Any:
            raise ConnectionError("API away")

    assert await service_env_for(object(), pod) == {}
    assert await service_env_for(Broken(), pod) == {}


def test_cluster_first_points_the_resolver_at_the_cluster_dns_with_search_domains() -> None:
    # 127.0.0.53 stands for a cluster DNS address that is local to this host.
    assert sandbox_dns("shop", "127.0.0.53") == {
        "dns": ["127.0.0.53"],
        "dns_search": ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
        "dns_opt": ["ndots:5"],
    }
    assert sandbox_dns("shop", "127.0.0.53", dns_policy="Default") == {}
    assert sandbox_dns("shop", "") == {}


def test_a_cluster_dns_address_that_is_not_local_is_not_given_to_pods() -> None:
    assert not is_local("192.0.2.77")
    assert sandbox_dns("shop", "192.0.2.77") == {}
