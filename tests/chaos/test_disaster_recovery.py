"""Disaster recovery: every etcd member's data destroyed, the cluster restored from a
snapshot with `tug etcd snapshot restore`, and the running workload adopted.

What was saved comes back (a Deployment whose containers keep running through it all,
not restarted, not duplicated), and what was made after the snapshot does not come back
(a ConfigMap, a Deployment whose containers the kubelets remove).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess

import pytest

from client.api import ApiClient
from client.errors import NotFound
from proto import core_pb2, meta_pb2
from tests.chaos.helpers import deploy, kill, layout_of, nodes_ready, ready_pods, tug, undeploy
from tests.support.cluster import NODE_LABEL, Cluster
from tests.support.waiting import eventually

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def app_containers(cluster: Cluster, app: str) -> dict[str, str]:
    """Container ID -> pod name of every running app container of `app`'s pods."""
    fmt = '{{.ID}} {{.Label "io.tugboat.pod.name"}} {{.Label "io.tugboat.kind"}}'
    done = subprocess.run(
        ["docker", "ps", "--no-trunc", "--filter", f"label={NODE_LABEL}", "--format", fmt],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].startswith(f"{app}-") and parts[2] != "sandbox":
            found[parts[0]] = parts[1]
    return found


async def configmap(api: ApiClient, name: str) -> None:
    cm = core_pb2.ConfigMap(
        metadata=meta_pb2.ObjectMeta(name=name, namespace="default"), data={"made": name}
    )
    await api.create(cm)


async def test_a_restored_snapshot_brings_back_the_saved_state_and_adopts_running_pods(
    cluster: Cluster, api: ApiClient, tmp_path
) -> None:
    saved, late = "saved", "late"
    await deploy(cluster, saved, 2, 30095)
    try:
        await configmap(api, "before-snapshot")
        containers = await asyncio.to_thread(app_containers, cluster, saved)
        pods_before = {p.metadata.name for p in await ready_pods(api, f"app={saved}")}
        assert len(containers) == 2 and set(containers.values()) == pods_before

        snapshot = tmp_path / "etcd.db"
        (await tug(cluster, "etcd", "snapshot", "save", str(snapshot))).ok()

        await configmap(api, "after-snapshot")
        await deploy(cluster, late, 1, 30096)
        assert await asyncio.to_thread(app_containers, cluster, late)

        # The disaster: every member killed and its data gone.
        layout = layout_of(cluster)
        members = [f"etcd-{m}" for m in range(cluster.etcd_members)]
        await kill(cluster, *members, sig=signal.SIGKILL)
        for m in range(cluster.etcd_members):
            await asyncio.to_thread(shutil.rmtree, layout.etcd_data_for(m))

        restored = await tug(cluster, "etcd", "snapshot", "restore", str(snapshot))
        restored.ok()
        print(f"\n{restored.out}")

        await api.get("configmaps", "default", "before-snapshot")
        with pytest.raises(NotFound):
            await api.get("configmaps", "default", "after-snapshot")
        with pytest.raises(NotFound):
            await api.get("deployments", "default", late)
        names = [cluster.node_name(j) for j in range(cluster.nodes)]
        await eventually(
            lambda: nodes_ready(api, names), timeout=60, interval=0.5, what="every node Ready"
        )

        async def late_gone() -> bool:
            return not await asyncio.to_thread(app_containers, cluster, late)

        await eventually(late_gone, timeout=60, interval=0.5, what=f"{late}'s containers gone")

        async def saved_ready() -> bool:
            return {p.metadata.name for p in await ready_pods(api, f"app={saved}")} == pods_before

        await eventually(saved_ready, timeout=60, interval=0.5, what=f"{saved}'s pods Ready")
        # Adopted: the very same containers, none restarted, none added.
        assert await asyncio.to_thread(app_containers, cluster, saved) == containers
        for pod in await ready_pods(api, f"app={saved}"):
            assert [c.restart_count for c in pod.status.container_statuses] == [0]
    finally:
        await undeploy(cluster, late)
        await undeploy(cluster, saved)
        for name in ("before-snapshot", "after-snapshot"):
            try:
                await api.delete("configmaps", "default", name)
            except NotFound:
                pass
