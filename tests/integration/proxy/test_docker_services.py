"""The issue's checks with real Docker: httpd pods, a kubelet, the Endpoints controller, a proxy.

One API server, one or two in-process kubelets running busybox pods on Docker, the
ReplicaSet, Deployment and Endpoints controllers in-process, and an in-process proxy
that puts ClusterIPs on the `tugboat-svc` interface (root). Pods are placed with
`nodeName` in their template, so no scheduler is needed. Every container is removed
by node label at the end, whatever happens.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from client.api import ApiClient
from client.codec import from_dict
from kubelet.kubelet import Kubelet
from kubelet.runtime.interface import LABEL_NODE
from master.controllers import ControllerSettings, run_controllers
from proto import core_pb2, workloads_pb2
from proxy.network import INTERFACE
from proxy.proxier import Proxier
from tests.integration.kubelet.conftest import KubeletFactory, remove_node_containers
from tests.integration.proxy.conftest import ProxyFactory
from tests.support.waiting import eventually


def _docker_ready() -> bool:
    try:
        client = docker.from_env()
        try:
            client.images.get("busybox:1.35")
            client.images.get("tugboat/pause:1")
            return True
        finally:
            client.close()
    except Exception:
        return False


pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="ClusterIPs need root"),
    pytest.mark.skipif(not _docker_ready(), reason="needs Docker and the test images"),
]

NODE_ADDRESS = "127.0.0.24"
HTTPD = (
    'mkdir -p /www && echo "$POD_NAME" > /www/index.html && echo ok > /www/ready.html '
    "&& exec httpd -f -p 80 -h /www"
)


@pytest.fixture
def nodes() -> Iterator[list[str]]:
    names = [f"px-{uuid.uuid4().hex[:6]}", f"px-{uuid.uuid4().hex[:6]}"]
    try:
        yield names
    finally:
        for n in names:
            remove_node_containers(n)


@pytest.fixture
async def kubelets(
    api: ApiClient, tmp_path: Path, nodes: list[str]
) -> AsyncIterator[KubeletFactory]:
    """Kubelets, stopped before `nodes` removes the nodes' containers (so none comes back)."""
    factory = KubeletFactory(api, tmp_path)
    try:
        yield factory
    finally:
        # Bounded: containers are removed by node label (the `nodes` fixture) anyway.
        closing = asyncio.ensure_future(factory.close())
        done, _ = await asyncio.wait({closing}, timeout=30)
        if not done:
            closing.cancel()
            print("WARNING: the kubelets did not stop within 30 s")


@pytest.fixture
async def controllers(apiserver: Any) -> AsyncIterator[None]:
    client = ApiClient([apiserver.endpoint])
    settings = ControllerSettings(controllers=("replicaset", "deployment", "endpoints"))
    task = asyncio.create_task(run_controllers(client, settings=settings))
    try:
        yield
    finally:
        task.cancel()
        # Bounded: a controller that swallowed the cancellation must not hang the suite.
        done, _ = await asyncio.wait({task}, timeout=10)
        if not done:
            print("WARNING: the controllers did not stop within 10 s of cancellation")
        await client.close()


def deployment(
    name: str, node: str, replicas: int, command: str = HTTPD
) -> workloads_pb2.Deployment:
    return from_dict(
        workloads_pb2.Deployment,
        {
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {
                        "nodeName": node,
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {
                                "name": "main",
                                "image": "busybox:1.35",
                                "command": ["sh", "-c", command],
                                "env": [
                                    {
                                        "name": "POD_NAME",
                                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                    }
                                ],
                                "ports": [{"name": "http", "containerPort": 80}],
                                "readinessProbe": {
                                    "httpGet": {"path": "/ready.html", "port": "http"},
                                    "periodSeconds": 1,
                                    "failureThreshold": 1,
                                },
                            }
                        ],
                    },
                },
            },
        },
    )


def web_service(node_port: int) -> core_pb2.Service:
    return from_dict(
        core_pb2.Service,
        {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": "http", "nodePort": node_port}],
            },
        },
    )


async def http_get(ip: str, port: int, path: str = "/", timeout: float = 2.0) -> str:
    """The body of one HTTP/1.0 GET."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(ip, port)
        try:
            writer.write(f"GET {path} HTTP/1.0\r\nHost: web\r\n\r\n".encode())
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
    return raw.partition(b"\r\n\r\n")[2].decode().strip()


async def ready_endpoints(api: ApiClient, name: str) -> list[str]:
    try:
        ep = await api.get("endpoints", "default", name)
    except Exception:
        return []
    assert isinstance(ep, core_pb2.Endpoints)
    return sorted(a.ip for s in ep.subsets for a in s.addresses)


async def pods_of(api: ApiClient, app: str) -> list[core_pb2.Pod]:
    listed = await api.list("pods", "default", label_selector=f"app={app}")
    return [p for p in listed.items if isinstance(p, core_pb2.Pod)]


async def scale(api: ApiClient, name: str, replicas: int) -> None:
    for _ in range(10):
        d = await api.get("deployments", "default", name)
        assert isinstance(d, workloads_pb2.Deployment)
        d.spec.replicas = replicas
        try:
            await api.update(d)
            return
        except Exception:
            continue


async def start_proxy(proxies: ProxyFactory) -> Proxier:
    return await proxies.start(NODE_ADDRESS, interface=INTERFACE, sync_period=2.0)


async def app_container(kubelet: Kubelet, pod: str) -> str:
    for c in await kubelet.runtime.list_containers():
        if c.pod.name == pod and c.kind != "sandbox" and c.state == "running":
            return c.id
    raise AssertionError(f"no running container of {pod}")


async def test_three_httpd_pods_share_a_node_port_evenly_and_scaling_to_zero_refuses_at_once(
    api: ApiClient,
    kubelets: KubeletFactory,
    nodes: list[str],
    controllers: None,
    proxies: ProxyFactory,
) -> None:
    await kubelets.start(nodes[0])
    np = random.randint(30000, 32767)
    await api.create(deployment("web", nodes[0], 3))
    svc = await api.create(web_service(np))
    proxier = await start_proxy(proxies)
    await eventually(
        lambda: _count(ready_endpoints(api, "web"), 3), timeout=90, what="three ready endpoints"
    )
    names = {p.metadata.name for p in await pods_of(api, "web")}

    def balancing_three() -> bool:
        port = proxier.ports.get("default/web")
        return port is not None and len(port.balancer.backends) == 3

    # The proxy learns the Endpoints from its own watch, a moment after the API has them;
    # counting before then would credit the first pods with the turns of the later ones.
    await eventually(balancing_three, timeout=10, what="the proxy balancing over three")

    async def served() -> bool:
        try:
            return await http_get(NODE_ADDRESS, np) in names
        except (OSError, TimeoutError):
            return False

    await eventually(served, timeout=10, what="the nodePort serving")
    counts = Counter([await http_get(NODE_ADDRESS, np) for _ in range(300)])
    print(f"\n300 requests through the proxy: {dict(counts)}")
    assert set(counts) == names
    assert all(80 <= n <= 120 for n in counts.values()), counts
    assert await http_get(svc.spec.cluster_ip, 80) in names, "the ClusterIP serves from the host"

    await scale(api, "web", 0)
    await eventually(
        lambda: _count(ready_endpoints(api, "web"), 0), timeout=30, what="no ready endpoint"
    )

    async def refused() -> bool:
        try:
            await http_get(NODE_ADDRESS, np, timeout=1.0)
        except ConnectionRefusedError:
            return True
        except (OSError, TimeoutError):
            return False
        return False

    await eventually(refused, timeout=5, what="connections refused")
    started = time.monotonic()
    async with asyncio.timeout(1.0):  # refused at once, not after a timeout
        assert await refused()
    print(f"refusal took {time.monotonic() - started:.3f} s")

    await scale(api, "web", 1)
    await eventually(
        lambda: _count(ready_endpoints(api, "web"), 1), timeout=60, what="one ready endpoint again"
    )
    ready_at = time.monotonic()
    names = {p.metadata.name for p in await pods_of(api, "web") if p.status.pod_ip}
    await eventually(served, timeout=10, what="served again")
    print(f"served again {time.monotonic() - ready_at:.3f} s after the Endpoints turned ready")


async def _count(found: Any, n: int) -> bool:
    return len(await found) == n


async def test_a_pod_reaches_the_service_by_its_dns_names_and_sees_its_env(
    api: ApiClient,
    kubelets: KubeletFactory,
    nodes: list[str],
    controllers: None,
    proxies: ProxyFactory,
) -> None:
    kubelet = await kubelets.start(nodes[0])
    await api.create(deployment("web", nodes[0], 1))
    svc = await api.create(web_service(random.randint(30000, 32767)))
    proxier = await start_proxy(proxies)
    await eventually(lambda: _count(ready_endpoints(api, "web"), 1), timeout=90, what="web ready")
    await eventually(lambda: ("172.30.255.10", 53) in proxier.dns.addresses, what="cluster DNS")
    await api.create(deployment("client", nodes[0], 1, command="exec sleep 3600"))
    await eventually(
        lambda: _count(ready_endpoints_pods(api, "client"), 1), timeout=60, what="client running"
    )
    client_pod = (await pods_of(api, "client"))[0].metadata.name
    web_pod = (await pods_of(api, "web"))[0].metadata.name
    cid = await app_container(kubelet, client_pod)

    async def fetch(url: str) -> str:
        # A lost DNS query costs the pod's resolver its whole timeout: a miss to try again,
        # not a failure. (No `wget -T`: Debian's static busybox 1.35 crashes on it.)
        try:
            result = await kubelet.runtime.exec_run(cid, ["wget", "-q", "-O", "-", url], 10.0)
        except TimeoutError:
            return ""
        return result.output.decode(errors="replace").strip()

    await eventually(
        lambda: _equals(fetch("http://web.default.svc.cluster.local/"), web_pod),
        timeout=40,
        what="the FQDN from inside a pod",
    )
    # Retried: another cluster's proxy on this machine may share the DNS address.
    await eventually(
        lambda: _equals(fetch("http://web/"), web_pod),
        timeout=40,
        what="the short name through the search path",
    )
    env = await kubelet.runtime.exec_run(cid, ["sh", "-c", "echo $WEB_SERVICE_HOST"], 5.0)
    assert env.output.decode().strip() == svc.spec.cluster_ip


async def _equals(found: Any, expected: str) -> bool:
    return bool(await found == expected)


async def ready_pods(api: ApiClient, app: str) -> list[str]:
    return [
        p.metadata.name
        for p in await pods_of(api, app)
        if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)
    ]


async def ready_endpoints_pods(api: ApiClient, app: str) -> list[str]:
    return [p.metadata.name for p in await pods_of(api, app) if p.status.phase == "Running"]


async def test_a_pod_failing_readiness_leaves_the_rotation_and_returns(
    api: ApiClient,
    kubelets: KubeletFactory,
    nodes: list[str],
    controllers: None,
    proxies: ProxyFactory,
) -> None:
    kubelet = await kubelets.start(nodes[0])
    np = random.randint(30000, 32767)
    await api.create(deployment("web", nodes[0], 2))
    await api.create(web_service(np))
    await start_proxy(proxies)
    await eventually(lambda: _count(ready_endpoints(api, "web"), 2), timeout=90, what="2 ready")
    pods = sorted(p.metadata.name for p in await pods_of(api, "web"))
    sick = pods[0]
    cid = await app_container(kubelet, sick)

    await kubelet.runtime.exec_run(cid, ["rm", "/www/ready.html"], 5.0)
    await eventually(lambda: _count(ready_endpoints(api, "web"), 1), timeout=20, what="1 ready")

    async def only_healthy() -> bool:
        answers = {await http_get(NODE_ADDRESS, np) for _ in range(6)}
        return answers == {pods[1]}

    await eventually(only_healthy, timeout=10, what="the sick pod out of rotation")
    await kubelet.runtime.exec_run(cid, ["sh", "-c", "echo ok > /www/ready.html"], 5.0)

    async def both() -> bool:
        return {await http_get(NODE_ADDRESS, np) for _ in range(6)} == set(pods)

    await eventually(both, timeout=20, what="the pod back in rotation")


async def test_a_pod_on_one_node_reaches_a_pod_on_another_by_pod_ip(
    api: ApiClient,
    kubelets: KubeletFactory,
    nodes: list[str],
    controllers: None,
) -> None:
    await kubelets.start(nodes[0])
    other = await kubelets.start(nodes[1])
    await api.create(deployment("web", nodes[0], 1))
    await api.create(deployment("client", nodes[1], 1, command="exec sleep 3600"))
    await eventually(lambda: _count(ready_pods(api, "web"), 1), timeout=90, what="web ready")
    await eventually(
        lambda: _count(ready_endpoints_pods(api, "client"), 1), timeout=60, what="client running"
    )
    web = (await pods_of(api, "web"))[0]
    client_pod = (await pods_of(api, "client"))[0].metadata.name
    cid = await app_container(other, client_pod)

    result = await other.runtime.exec_run(
        cid, ["wget", "-q", "-O", "-", f"http://{web.status.pod_ip}/"], 10.0
    )

    assert result.output.decode().strip() == web.metadata.name
    labels = docker.from_env().api.inspect_container(cid)["Config"]["Labels"]
    assert labels[LABEL_NODE] == nodes[1]
