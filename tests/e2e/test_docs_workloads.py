"""The Kubernetes documentation's workloads, applied and operated with `tug` alone.

Deployment (scale, roll out, a stuck rollout, undo, exec, logs, delete), Job, CronJob, DaemonSet,
a ConfigMap as environment and as files, and a pod restarted by its liveness probe.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.tables import DOCS, row, rows
from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LIVENESS = str(DOCS / "exec-liveness.yaml")


@pytest.fixture(scope="module", autouse=True)
def liveness_pod(cluster: Cluster) -> Iterator[float]:
    """The docs' liveness-exec pod, applied first: its probe fails only after 30 s."""
    cluster.tug("apply", "-f", LIVENESS).ok()
    try:
        yield time.monotonic()
    finally:
        cluster.tug("delete", "-f", LIVENESS, "--ignore-not-found", "--grace-period", "0")


def running_pods(cluster: Cluster, selector: str) -> list[dict[str, str]]:
    """`tug get pods -l SELECTOR -o wide` rows whose STATUS is Running."""
    table = cluster.tug("get", "pods", "-l", selector, "-o", "wide").ok()
    return [r for r in rows(table) if r["STATUS"] == "Running"]


def test_the_docs_nginx_deployment_scales_rolls_out_gets_stuck_and_is_undone(cluster: Cluster):
    manifest = str(DOCS / "nginx-deployment.yaml")
    tug = cluster.tug
    try:
        assert tug("apply", "-f", manifest).ok() == "deployment.apps/nginx-deployment created\n"
        assert "successfully rolled out" in tug(
            "rollout", "status", "deployment/nginx-deployment", "--timeout", "90"
        ).ok()
        deploy = row(tug("get", "deployments").ok(), "nginx-deployment")
        assert (deploy["READY"], deploy["UP-TO-DATE"], deploy["AVAILABLE"]) == ("3/3", "3", "3")

        assert "scaled" in tug("scale", "deployment/nginx-deployment", "--replicas", "5").ok()
        tug("rollout", "status", "deployment/nginx-deployment", "--timeout", "90").ok()
        assert row(tug("get", "deploy").ok(), "nginx-deployment")["READY"] == "5/5"

        # The docs' update: a new image, rolled out replica set by replica set.
        tug("set", "image", "deployment/nginx-deployment", "nginx=nginx:1.16.1").ok()
        tug("rollout", "status", "deployment/nginx-deployment", "--timeout", "90").ok()
        page = tug("describe", "deployment", "nginx-deployment").ok()
        assert "Image:        nginx:1.16.1" in page

        # The docs' typo, nginx:1.161: no such image, so the rollout gets stuck...
        tug("set", "image", "deployment/nginx-deployment", "nginx=nginx:1.161").ok()
        stuck = tug("rollout", "status", "deployment/nginx-deployment", "--timeout", "8")
        assert stuck.code == 1, stuck.out
        wait_until(
            lambda: any(
                r["STATUS"] in ("ErrImagePull", "ImagePullBackOff")
                for r in rows(tug("get", "pods", "-l", "app=nginx").ok())
            ),
            timeout=30,
            what="a pod of the bad image failing to pull",
        )
        # ... while the old pods keep serving (maxUnavailable 25% of 5 rounds down to 1).
        assert len(running_pods(cluster, "app=nginx")) >= 4
        history = tug("rollout", "history", "deployment/nginx-deployment").ok()
        title, _, table = history.partition("\n")
        assert title == "deployment.apps/nginx-deployment"
        assert [r["REVISION"] for r in rows(table)] == ["1", "2", "3"], history

        # ... and undo goes back to the previous revision.
        assert "rolled back" in tug("rollout", "undo", "deployment/nginx-deployment").ok()
        tug("rollout", "status", "deployment/nginx-deployment", "--timeout", "90").ok()
        page = tug("describe", "deployment", "nginx-deployment").ok()
        assert "Image:        nginx:1.16.1" in page
        assert "5 desired | 5 updated | 5 total | 5 available" in page
        assert "ScalingReplicaSet" in page

        def five_running() -> str | None:
            running = running_pods(cluster, "app=nginx")
            return running[0]["NAME"] if len(running) == 5 else None

        pod = wait_until(five_running, timeout=60, what="five running nginx pods")
        served = tug("exec", pod, "--", "wget", "-q", "-O", "-", "http://127.0.0.1/").ok()
        assert "Welcome to nginx!" in served and "nginx:1.16.1" in served
        assert "response:200" in tug("logs", pod).ok()
    finally:
        tug("delete", "-f", manifest, "--ignore-not-found")
        tug("delete", "pods", "-l", "app=nginx", "--grace-period", "0", "--ignore-not-found")
    wait_until(
        lambda: not rows(tug("get", "pods", "-l", "app=nginx").ok()),
        timeout=60,
        what="the deployment's pods gone",
    )
    assert tug("get", "deployment", "nginx-deployment").code == 1


def test_the_docs_pi_job_runs_to_completion_and_logs_pi(cluster: Cluster):
    manifest = str(DOCS / "job-pi.yaml")
    tug = cluster.tug
    try:
        assert tug("apply", "-f", manifest).ok() == "job.batch/pi created\n"
        wait_until(
            lambda: row(tug("get", "jobs").ok(), "pi")["COMPLETIONS"] == "1/1",
            timeout=60,
            what="job pi complete",
        )
        (pod,) = rows(tug("get", "pods", "-l", "job-name=pi").ok())
        assert pod["STATUS"] == "Completed"
        assert tug("logs", pod["NAME"]).ok().startswith("3.14159265358979")
        assert "1 Succeeded" in tug("describe", "job", "pi").ok()
    finally:
        tug("delete", "-f", manifest, "--ignore-not-found")


def test_the_docs_cron_job_starts_a_job_within_a_minute_that_says_hello(cluster: Cluster):
    manifest = str(DOCS / "cronjob.yaml")
    tug = cluster.tug
    try:
        assert tug("apply", "-f", manifest).ok() == "cronjob.batch/hello created\n"
        # The schedule is every minute of the wall clock: the first Job comes within 60 s.
        wait_until(
            lambda: any(r["COMPLETIONS"] == "1/1" for r in rows(tug("get", "jobs").ok())),
            timeout=120,
            what="a Job of the CronJob hello complete",
        )
        job = next(r for r in rows(tug("get", "jobs").ok()) if r["COMPLETIONS"] == "1/1")
        assert job["NAME"].startswith("hello-")
        (pod,) = rows(tug("get", "pods", "-l", f"job-name={job['NAME']}").ok())
        assert "Hello from the Kubernetes cluster" in tug("logs", pod["NAME"]).ok()
        cron = row(tug("get", "cronjobs").ok(), "hello")
        assert (cron["SCHEDULE"], cron["SUSPEND"]) == ("* * * * *", "False")
        assert cron["LAST SCHEDULE"] != "<none>"
        # A run by hand, as `kubectl create job --from=cronjob/hello` makes one.
        assert tug("create", "job", "hello-now", "--from=cronjob/hello").ok() == (
            "job.batch/hello-now created\n"
        )
        wait_until(
            lambda: row(tug("get", "jobs").ok(), "hello-now")["COMPLETIONS"] == "1/1",
            timeout=60,
            what="the Job made by hand complete",
        )
    finally:
        tug("delete", "-f", manifest, "--ignore-not-found")


def test_the_docs_daemonset_runs_one_pod_on_every_node(cluster: Cluster):
    manifest = str(DOCS / "daemonset.yaml")
    tug = cluster.tug
    try:
        tug("apply", "-f", manifest).ok()
        wait_until(
            lambda: row(tug("get", "ds", "-n", "kube-system").ok(), "fluentd-elasticsearch")[
                "READY"
            ]
            == str(cluster.nodes),
            timeout=60,
            what="the daemonset ready on every node",
        )
        pods = rows(tug("get", "pods", "-n", "kube-system", "-o", "wide").ok())
        nodes = sorted(p["NODE"] for p in pods if p["NAME"].startswith("fluentd-elasticsearch-"))
        assert nodes == [cluster.node_name(j) for j in range(cluster.nodes)]
    finally:
        tug("delete", "-f", manifest, "--ignore-not-found", "--grace-period", "0")


def test_the_docs_configmap_reaches_a_pod_as_environment_and_as_files(cluster: Cluster):
    tug = cluster.tug
    config = str(DOCS / "configmap-multikeys.yaml")
    as_env = str(DOCS / "pod-configmap-envfrom.yaml")
    as_files = str(DOCS / "pod-configmap-volume.yaml")

    def completed() -> bool:
        return row(tug("get", "pods").ok(), "dapi-test-pod")["STATUS"] == "Completed"

    try:
        tug("apply", "-f", config, "-f", as_env).ok()
        wait_until(completed, timeout=60, what="dapi-test-pod (envFrom) completed")
        env = tug("logs", "dapi-test-pod").ok().splitlines()
        assert {"SPECIAL_LEVEL=very", "SPECIAL_TYPE=charm"} <= set(env)
        tug("delete", "-f", as_env, "--wait").ok()

        tug("apply", "-f", as_files).ok()
        wait_until(completed, timeout=60, what="dapi-test-pod (volume) completed")
        assert tug("logs", "dapi-test-pod").ok().split() == ["SPECIAL_LEVEL", "SPECIAL_TYPE"]
        assert "special-config" in tug("describe", "pod", "dapi-test-pod").ok()
    finally:
        tug("delete", "-f", as_files, "--ignore-not-found", "--wait")
        tug("delete", "-f", config, "--ignore-not-found")


def test_the_docs_liveness_exec_pod_is_restarted_once_its_probe_fails(
    cluster: Cluster, liveness_pod: float
):
    tug = cluster.tug
    # The file disappears 30 s after start; three failed probes 5 s apart then restart it.
    wait_until(
        lambda: int(row(tug("get", "pods").ok(), "liveness-exec")["RESTARTS"].split()[0]) >= 1,
        timeout=max(10.0, 120 - (time.monotonic() - liveness_pod)),
        interval=1,
        what="liveness-exec restarted",
    )
    page = tug("describe", "pod", "liveness-exec").ok()
    assert "Liveness probe failed" in page, page
