"""`tug up --driver docker`: nodes as containers with their own IPs, and a real pod network.

One cluster for the module, described by a kind-style file (one master, two workers, a
label, a taint and a host port mapping), driven through `tug` and checked from the host and
from inside pods: every node Ready at its container IP, pod to pod across nodes, a ClusterIP
and DNS from a pod, a NodePort at each node's IP, the host port, `tug load docker-image`,
and `tug down` leaving nothing behind. busybox's `wget` crashes in this static build, so
pods talk HTTP with `nc`.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.container_cluster import (
    ContainerCluster,
    docker,
    leftovers,
    running_container_cluster,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NODE_PORT = 30080


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HOST_PORT = _free_port()
CONFIG = f"""\
apiVersion: tugboat/v1alpha1
kind: Cluster
nodes:
- role: master
- role: worker
  labels: {{disktype: ssd}}
- role: worker
  taints: [{{key: dedicated, value: web, effect: NoSchedule}}]
  extraPortMappings:
  - {{containerPort: {NODE_PORT}, hostPort: {HOST_PORT}}}
"""

WEB = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: web}}}}
spec:
  nodeName: {node}
  tolerations: [{{key: dedicated, operator: Exists}}]
  containers:
  - name: web
    image: busybox:1.35
    command:
    - sh
    - -c
    - mkdir -p /www; echo {name} > /www/index.html; exec httpd -f -p 8080 -h /www
"""
SERVICE = f"""\
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: {NODE_PORT}}}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerCluster]:
    home = tmp_path_factory.mktemp("container-nodes")
    config = home / "cluster.yaml"
    config.write_text(CONFIG)
    started = time.monotonic()
    with running_container_cluster(home / "tug-home", config=config, masters=1, workers=2) as c:
        print(f"\ncontainer cluster {c.name} up in {time.monotonic() - started:.1f} s")
        yield c


@pytest.fixture(scope="module")
def web(cluster: ContainerCluster) -> dict[str, str]:
    """One web pod on each worker behind a NodePort Service: pod name -> pod IP."""
    pods = {f"web-{j}": cluster.worker(j) for j in range(2)}
    manifest = "---\n".join(WEB.format(name=n, node=node) for n, node in pods.items())
    cluster.tug("apply", "-f", "-", stdin=manifest + "---\n" + SERVICE).ok()

    def ips() -> dict[str, str] | None:
        out = cluster.tug("get", "pods", "-l", "app=web", "-o", "json").ok()
        items = json.loads(out)["items"]
        found = {
            p["metadata"]["name"]: p["status"].get("podIP", "")
            for p in items
            if p["status"].get("phase") == "Running"
        }
        return found if len(found) == 2 and all(found.values()) else None

    return wait_until(ips, timeout=120, interval=0.5, what="both web pods Running")


def _http_from_pod(cluster: ContainerCluster, pod: str, host: str, port: int) -> str:
    """The body a GET from inside `pod` to host:port gets ("" when nothing answers)."""
    script = f'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 {host} {port} | tail -n 1'
    result = cluster.tug("exec", pod, "--", "sh", "-c", script)
    return result.out.strip() if result.code == 0 else ""


def _http_from_host(address: str, port: int) -> str:
    """The body a GET from this machine gets ("" when nothing answers)."""
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/", timeout=3) as answer:
            return str(answer.read().decode()).strip()
    except OSError:
        return ""


def test_every_node_is_ready_at_its_container_ip_with_its_labels_and_taints(
    cluster: ContainerCluster,
) -> None:
    nodes = json.loads(cluster.tug("get", "nodes", "-o", "json").ok())["items"]
    by_name = {n["metadata"]["name"]: n for n in nodes}
    assert sorted(by_name) == cluster.worker_names
    for name, node in by_name.items():
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", name
        internal = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"]
        assert internal == [cluster.ip(name)]
    assert by_name[cluster.worker(0)]["metadata"]["labels"]["disktype"] == "ssd"
    taints = by_name[cluster.worker(1)]["spec"]["taints"]
    assert [(t["key"], t["value"], t["effect"]) for t in taints] == [
        ("dedicated", "web", "NoSchedule")
    ]
    wide = cluster.tug("get", "nodes", "-o", "wide").ok()
    for j in range(2):
        assert cluster.ip(cluster.worker(j)) in wide


def test_a_pod_reaches_a_pod_on_another_node_by_its_ip(
    cluster: ContainerCluster, web: dict[str, str]
) -> None:
    assert _http_from_pod(cluster, "web-0", web["web-1"], 8080) == "web-1"
    assert _http_from_pod(cluster, "web-1", web["web-0"], 8080) == "web-0"


def test_a_pod_reaches_a_service_by_cluster_ip_and_by_dns_name(
    cluster: ContainerCluster, web: dict[str, str]
) -> None:
    svc = json.loads(cluster.tug("get", "service", "web", "-o", "json").ok())
    cluster_ip = svc["spec"]["clusterIP"]

    def first() -> str | None:
        return _http_from_pod(cluster, "web-0", cluster_ip, 80) or None

    # The proxies program the Service once its endpoints are ready, which on a loaded
    # machine can come after both pods run: wait for the first answer, as a user would.
    answers = {wait_until(first, timeout=30, interval=0.5, what="web-0 reaching the ClusterIP")}
    answers |= {_http_from_pod(cluster, "web-0", cluster_ip, 80) for _ in range(5)}
    assert answers <= {"web-0", "web-1"}, answers
    for name in ("web.default.svc.cluster.local", "web"):

        def answered(name: str = name) -> bool:
            return _http_from_pod(cluster, "web-1", name, 80) in web

        # One nc with a 3 s timeout per try: a loaded machine may need a second one.
        try:
            wait_until(answered, timeout=30, interval=1, what=f"web-1 reaching {name}")
        except AssertionError as e:
            # Say which step failed: the exec, the lookup, or the connection.
            raise AssertionError(f"{e}\n{_name_diagnosis(cluster, 'web-1', name)}") from None


def _name_diagnosis(cluster: ContainerCluster, pod: str, name: str) -> str:
    lines = []
    for argv in (
        ("cat", "/etc/resolv.conf"),
        ("nslookup", name),
        ("sh", "-c", f'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 {name} 80'),
    ):
        result = cluster.tug("exec", pod, "--", *argv)
        lines.append(f"$ {' '.join(argv)} -> {result.code}\n{result.out}{result.err}")
    return "\n".join(lines)


def test_a_node_port_answers_at_every_nodes_ip_and_at_the_mapped_host_port(
    cluster: ContainerCluster, web: dict[str, str]
) -> None:
    for j in range(2):
        address = cluster.ip(cluster.worker(j))
        body = wait_until(
            lambda: _http_from_host(address, NODE_PORT),  # noqa: B023 (used at once)
            timeout=20,
            what=f"the NodePort at {address}",
        )
        assert body in web
    assert _http_from_host("127.0.0.1", HOST_PORT) in web


def test_a_loaded_image_runs_with_pull_policy_never(cluster: ContainerCluster) -> None:
    image = f"tugboat-test/{cluster.name}:loaded"
    docker("tag", "busybox:1.35", image)
    try:
        loaded = cluster.tug("load", "docker-image", image, "--name", cluster.name, timeout=300)
        assert loaded.code == 0, loaded.err
        for worker in cluster.worker_names:
            assert f"into {worker}" in loaded.out
    finally:
        docker("rmi", image, check=False)
    pod = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: loaded}}
spec:
  nodeName: {cluster.worker(0)}
  containers: [{{name: c, image: "{image}", imagePullPolicy: Never, command: [sleep, "600"]}}]
"""
    cluster.tug("apply", "-f", "-", stdin=pod).ok()

    def running() -> bool:
        out = cluster.tug("get", "pod", "loaded", "-o", "json").ok()
        return bool(json.loads(out)["status"].get("phase") == "Running")

    wait_until(running, timeout=60, interval=0.5, what="the pod of the loaded image Running")


def test_tug_down_removes_every_container_network_and_volume(cluster: ContainerCluster) -> None:
    assert any(leftovers(cluster.name).values())
    down = cluster.tug("down", "--name", cluster.name, timeout=120)
    assert down.code == 0, down.err
    assert "removed" in down.out
    assert leftovers(cluster.name) == {"containers": [], "volumes": [], "networks": []}
    assert not (Path(cluster.home) / "clusters" / cluster.name / "state.json").exists()
