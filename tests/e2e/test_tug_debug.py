"""`tug debug` on real kubelets: an ephemeral container added beside a running app, attached
to with -i, sees the app's processes in its PID namespace; its exit code is the command's,
its output stays in its logs, and the app runs on."""

from __future__ import annotations

import json

import pytest

from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SLEEPY = """
apiVersion: v1
kind: Pod
metadata: {name: sleepy}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: busybox:1.35
    command: ["sleep", "3600"]
"""


def test_tug_debug_i_runs_a_shell_that_sees_the_apps_processes(cluster: Cluster):
    cluster.tug("apply", "-f", "-", stdin=SLEEPY).ok()
    try:

        def running() -> bool:
            pod = json.loads(cluster.tug("get", "pod", "sleepy", "-o", "json").ok())
            return bool(pod["status"].get("phase") == "Running")

        wait_until(running, timeout=120, interval=1, what="sleepy running")
        # (Anchored: grep's own command line holds the pattern too.)
        script = "echo seen: $(ps -o args | grep -c '^sleep 3600'); exit 4\n"
        done = cluster.tug(
            "debug", "sleepy", "--image", "busybox:1.35", "--target", "app", "-c", "dbg",
            "-i", "--", "sh", stdin=script, timeout=150,
        )  # fmt: skip
        assert done.code == 4, done
        assert "seen: 1" in done.out, done

        logs = cluster.tug("logs", "sleepy", "-c", "dbg").ok()
        assert "seen: 1" in logs

        def terminated() -> dict[str, int] | None:
            pod = json.loads(cluster.tug("get", "pod", "sleepy", "-o", "json").ok())
            [status] = pod["status"]["ephemeralContainerStatuses"]
            ended: dict[str, int] | None = status["state"].get("terminated")
            return ended

        ended = wait_until(terminated, timeout=60, interval=1, what="dbg reported terminated")
        assert ended["exitCode"] == 4
        pod = json.loads(cluster.tug("get", "pod", "sleepy", "-o", "json").ok())
        assert pod["status"]["phase"] == "Running"
    finally:
        cluster.tug("delete", "pod", "sleepy", "--grace-period", "0", "--force")
