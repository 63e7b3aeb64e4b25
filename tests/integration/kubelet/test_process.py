"""`tug-kubelet` as a process: a SIGKILLed kubelet adopts its containers; simulated nodes."""

from __future__ import annotations

import docker
import pytest

from client.timestamps import now_micro
from kubelet.runtime.interface import LABEL_NODE
from proto import workloads_pb2
from tests.integration.kubelet.pods import container, pod, running, status_of, wait_for_pod
from tests.support.ports import free_port
from tests.support.waiting import eventually


def _running_ids(node: str) -> set[str]:
    client = docker.from_env()
    try:
        rows = client.api.containers(filters={"label": [f"{LABEL_NODE}={node}"]})
    finally:
        client.close()
    return {r["Id"] for r in rows}


async def _lease_renewed_after(api, node: str, moment: str):
    lease = await api.get("leases", "kube-node-lease", node)
    assert isinstance(lease, workloads_pb2.Lease)
    return lease.spec.renew_time > moment


@pytest.mark.docker
async def test_a_killed_kubelet_comes_back_without_restarting_containers(
    api, apiserver, node_name, kubelet_process, tmp_path
):
    args = [
        "--node-name", node_name,
        "--address", "127.0.0.1",
        "--server", apiserver.endpoint,
        "--port", str(free_port("127.0.0.1")),
        "--root-dir", str(tmp_path / "root"),
        "--lease-period", "1",
        "--crash-backoff", "1",
        "--crash-backoff-max", "2",
        "--pod-cidr-mode", "docker",  # no controller manager gives the node a podCIDR
    ]  # fmt: skip
    first = kubelet_process(args)
    first.launch()
    # Fails once, then runs: restartCount 1 that must survive the kubelet's restart.
    c = container(
        "main", "sh", "-c", "if [ -e /s/ran ]; then exec sleep 3600; fi; touch /s/ran; exit 1"
    )
    c.volume_mounts.add(name="s", mount_path="/s")
    p = pod("steady", node_name, c, restart_policy="OnFailure")
    p.spec.volumes.add(name="s").empty_dir.SetInParent()
    await api.create(p)
    before = await wait_for_pod(
        api, "steady", lambda p: running(p) and status_of(p, "main").restart_count == 1
    )
    ids_before = _running_ids(node_name)
    assert len(ids_before) == 2  # sandbox and app container

    first.kill()
    killed_at = now_micro()
    second = kubelet_process(args)
    second.launch()
    # Two renewals by the new process: it has listed its pods and relisted its containers.
    await eventually(
        lambda: _lease_renewed_after(api, node_name, killed_at), timeout=20, what="new lease"
    )
    await eventually(lambda: "kubelet started" in second.logs(), timeout=20, what="started")
    renewed = now_micro()
    await eventually(lambda: _lease_renewed_after(api, node_name, renewed), timeout=20)

    after = await wait_for_pod(api, "steady", running)
    assert _running_ids(node_name) == ids_before
    assert status_of(after, "main").restart_count == 1
    assert status_of(after, "main").container_id == status_of(before, "main").container_id


async def test_two_hundred_simulated_nodes_register_and_keep_their_leases_fresh(
    api, apiserver, kubelet_process, tmp_path
):
    sim = kubelet_process(
        [
            "--node-name",
            "sim",
            "--address",
            "127.0.0.1",
            "--server",
            apiserver.endpoint,
            "--port",
            str(free_port("127.0.0.1")),
            "--root-dir",
            str(tmp_path / "sim"),
            "--runtime",
            "fake",
            "--simulate",
            "200",
            "--lease-period",
            "2",
        ]
    )
    sim.launch()

    async def all_registered():
        nodes = await api.list("nodes")
        return len([n for n in nodes.items if n.metadata.name.startswith("sim-")]) == 200

    await eventually(all_registered, timeout=120, interval=1, what="200 nodes registered")

    async def all_fresh_since(moment: str):
        leases = await api.list("leases", "kube-node-lease")
        fresh = [x for x in leases.items if x.spec.renew_time > moment]
        return len(fresh) == 200

    for _ in range(2):
        moment = now_micro()
        await eventually(
            lambda m=moment: all_fresh_since(m), timeout=30, interval=0.5, what="fresh leases"
        )

    # A pod bound to a simulated node turns Running.
    await api.create(pod("simpod", "sim-7", container("main", "sleep", "3600")))
    p = await wait_for_pod(api, "simpod", running, timeout=30)
    assert p.status.pod_ip.startswith("10.")
    sim.stop()
    assert sim.process is not None and sim.process.returncode == 0, sim.logs()[-2000:]
