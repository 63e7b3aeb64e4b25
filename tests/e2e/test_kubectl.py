"""The real kubectl operates the shared 3-master cluster through the kubeconfig `tug up` wrote.

Nothing here goes through `tug` except finding the kubeconfig: a kubectl user's session
against Tugboat, from `get nodes` to a rollout, logs, exec with its exit code, a watch,
cordon, and a delete that waits.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.tables import DOCS, rows
from tests.support.cluster import Cluster
from tests.support.registry import private_registry
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="make setup installs kubectl"),
]

TALKER = """
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: talk
    image: busybox:1.35
    command: ["sh", "-c", "echo hello; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"]
"""


@dataclass
class Kubectl:
    env: dict[str, str]

    def __call__(
        self, *args: str, stdin: str = "", timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, stdin: str = "", timeout: float = 120) -> str:
        done = self(*args, stdin=stdin, timeout=timeout)
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}{done.stdout}"
        return done.stdout


@dataclass
class Streaming:
    """A long-running kubectl (`logs -f`, `get -w`) whose output is collected as it comes."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> None:
        wait_until(
            lambda: any(text in line for line in self.lines),
            timeout=timeout,
            interval=0.2,
            what=f"{text!r} in the output of {self.process.args!r}",
        )

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def kubectl(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    path = cluster.tug("config", "kubeconfig-path").ok().strip()
    cache = tmp_path_factory.mktemp("kube-cache")
    return Kubectl({**os.environ, "KUBECONFIG": path, "KUBECACHEDIR": str(cache)})


@pytest.fixture
def streams(kubectl: Kubectl) -> Iterator[list[Streaming]]:
    started: list[Streaming] = []
    yield started
    for s in started:
        s.stop()


def stream(kubectl: Kubectl, started: list[Streaming], *args: str) -> Streaming:
    process = subprocess.Popen(
        ["kubectl", *args], env=kubectl.env, stdout=subprocess.PIPE, text=True
    )
    started.append(Streaming(process))
    return started[-1]


def test_get_nodes_lists_every_node_ready(kubectl: Kubectl, cluster: Cluster):
    table = rows(kubectl.ok("get", "nodes", "-o", "wide"))
    assert sorted(r["NAME"] for r in table) == [cluster.node_name(j) for j in range(3)]
    assert all(r["STATUS"] == "Ready" for r in table), table
    assert {r["INTERNAL-IP"] for r in table} == {cluster.node_ip(j) for j in range(3)}


def test_get_cs_lists_the_control_plane_healthy(kubectl: Kubectl):
    def healthy() -> list[dict[str, str]] | None:
        done = kubectl("get", "cs")
        table = rows(done.stdout)
        return table if all(r["STATUS"] == "Healthy" for r in table) else None

    # Each master's scheduler and controller manager registers its status port once up.
    table = wait_until(healthy, timeout=30, what="every component Healthy")
    names = {r["NAME"] for r in table}
    assert {"scheduler", "controller-manager", "etcd-0"} <= names, table
    assert "Warning: v1 ComponentStatus is deprecated in v1.19+" in kubectl("get", "cs").stderr


def test_tug_shows_the_kubeconfig_kubectl_uses(kubectl: Kubectl, cluster: Cluster):
    shown = yaml.safe_load(cluster.tug("config", "view", "--kubeconfig").ok())
    (entry,) = shown["clusters"]
    assert entry["cluster"]["server"] == kubectl.ok(
        "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}"
    )


def test_the_docs_deployment_rolls_out_is_watched_scaled_rolled_back_and_deleted(
    kubectl: Kubectl, streams: list[Streaming]
):
    manifest = str(DOCS / "nginx-deployment.yaml")
    assert kubectl.ok("apply", "-f", manifest).strip() == (
        "deployment.apps/nginx-deployment created"
    )
    try:
        kubectl.ok("rollout", "status", "deployment/nginx-deployment", "--timeout", "180s")
        pods = rows(kubectl.ok("get", "pods", "-l", "app=nginx", "-o", "wide"))
        assert len(pods) == 3 and all(p["STATUS"] == "Running" for p in pods), pods
        assert all(p["NODE"].startswith("e2e-node-") for p in pods), pods

        watch = stream(kubectl, streams, "get", "pods", "-l", "app=nginx", "-w", "-o", "name")
        watch.wait_for(pods[0]["NAME"])
        kubectl.ok("scale", "deployment/nginx-deployment", "--replicas", "4")
        wait_until(
            lambda: len({line for line in watch.lines if line.startswith("pod/")}) >= 4,
            timeout=60,
            interval=0.2,
            what="the watch to see a fourth pod",
        )

        kubectl.ok("set", "image", "deployment/nginx-deployment", "nginx=nginx:1.16.1")
        kubectl.ok("rollout", "status", "deployment/nginx-deployment", "--timeout", "180s")
        history = kubectl.ok("rollout", "history", "deployment/nginx-deployment")
        assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == [
            "1",
            "2",
        ], history
        kubectl.ok("rollout", "undo", "deployment/nginx-deployment")
        kubectl.ok("rollout", "status", "deployment/nginx-deployment", "--timeout", "180s")
        live = json.loads(kubectl.ok("get", "deployment", "nginx-deployment", "-o", "json"))
        assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.14.2"
        described = kubectl.ok("describe", "deployment", "nginx-deployment")
        assert "ScalingReplicaSet" in described, described
    finally:
        out = kubectl.ok("delete", "-f", manifest, "--wait", "--timeout", "120s")
    assert out.strip() == 'deployment.apps "nginx-deployment" deleted'
    wait_until(
        lambda: not rows(kubectl.ok("get", "pods", "-l", "app=nginx")),
        timeout=120,
        interval=0.5,
        what="the nginx pods gone",
    )


def test_logs_follow_and_exec_pass_output_and_exit_codes_through(
    kubectl: Kubectl, streams: list[Streaming]
):
    kubectl.ok("apply", "-f", "-", stdin=TALKER)
    try:
        kubectl.ok("wait", "--for=condition=Ready", "pod/talker", "--timeout", "120s")
        assert kubectl.ok("logs", "talker").splitlines()[0] == "hello"
        follow = stream(kubectl, streams, "logs", "-f", "talker")
        started = time.monotonic()
        follow.wait_for("tick 3")
        newest = max(int(line.split()[1]) for line in follow.lines if line.startswith("tick"))
        assert newest >= 3 and time.monotonic() - started < 60
        assert kubectl.ok("logs", "talker", "--tail", "1").startswith("tick")
        follow.wait_for("tick 6")
        recent = kubectl.ok("logs", "talker", "--since", "2s").splitlines()
        assert recent and "hello" not in recent, recent  # hello is 6 s old, ticks are new
        assert all(line.startswith("tick") for line in recent), recent

        done = kubectl("exec", "talker", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
        assert done.returncode == 3, done.stderr
        assert done.stdout == "out\n"
        assert "err" in done.stderr
        echoed = kubectl("exec", "-i", "talker", "--", "cat", stdin="through stdin\n")
        assert echoed.returncode == 0, echoed.stderr
        assert echoed.stdout == "through stdin\n"
    finally:
        kubectl("delete", "pod", "talker", "--grace-period", "0", "--force", "--wait")


def test_cp_copies_a_directory_into_a_pod_and_back_unchanged(
    kubectl: Kubectl, tmp_path: Path
):
    source = tmp_path / "outbound"
    (source / "nested").mkdir(parents=True)
    (source / "greeting.txt").write_text("hello from the host\n")
    (source / "nested" / "numbers.bin").write_bytes(bytes(range(256)) * 64)
    kubectl.ok("apply", "-f", "-", stdin=TALKER)
    try:
        kubectl.ok("wait", "--for=condition=Ready", "pod/talker", "--timeout", "120s")
        kubectl.ok("cp", str(source), "talker:/tmp/inbound")
        listed = kubectl.ok("exec", "talker", "--", "cat", "/tmp/inbound/greeting.txt")
        assert listed == "hello from the host\n"
        back = tmp_path / "returned"
        kubectl.ok("cp", "talker:/tmp/inbound", str(back))
        assert (back / "greeting.txt").read_text() == "hello from the host\n"
        assert (back / "nested" / "numbers.bin").read_bytes() == bytes(range(256)) * 64
    finally:
        kubectl("delete", "pod", "talker", "--grace-period", "0", "--force", "--wait")


def test_expose_makes_a_service_whose_endpoints_are_the_deployments_pods(kubectl: Kubectl):
    kubectl.ok("create", "deployment", "exposed", "--image", "nginx:1.14.2", "--replicas", "2")
    try:
        kubectl.ok("rollout", "status", "deployment/exposed", "--timeout", "180s")
        created = kubectl.ok("expose", "deployment", "exposed", "--port", "8080",
                             "--target-port", "80")
        assert created.strip() == "service/exposed exposed"
        service = json.loads(kubectl.ok("get", "service", "exposed", "-o", "json"))
        assert service["spec"]["selector"] == {"app": "exposed"}
        assert service["spec"]["ports"][0]["port"] == 8080
        assert service["spec"]["ports"][0]["targetPort"] == 80

        def addresses() -> set[str]:
            got = kubectl("get", "endpoints", "exposed", "-o", "json")
            if got.returncode != 0:
                return set()
            subsets = json.loads(got.stdout).get("subsets") or []
            return {a["ip"] for s in subsets for a in s.get("addresses") or []}

        pods = json.loads(kubectl.ok("get", "pods", "-l", "app=exposed", "-o", "json"))
        ips = {p["status"]["podIP"] for p in pods["items"]}
        wait_until(lambda: addresses() == ips, timeout=60, interval=0.5,
                   what=f"the service's endpoints to be the pods' {ips}")
    finally:
        kubectl("delete", "service", "exposed", "--wait")
        kubectl("delete", "deployment", "exposed", "--wait")


DONGLE_POD = """
apiVersion: v1
kind: Pod
metadata: {name: %(name)s}
spec:
  terminationGracePeriodSeconds: 0
  nodeSelector: {kubernetes.io/hostname: %(node)s}
  containers:
  - name: app
    image: busybox:1.35
    command: ["sleep", "3600"]
    resources:
      requests: {example.com/dongle: "%(count)s"}
      limits: {example.com/dongle: "%(count)s"}
"""


def test_an_extended_resource_advertised_on_a_node_is_counted_by_the_scheduler(
    kubectl: Kubectl,
):
    # Kubernetes' "Advertise Extended Resources for a Node" task, with kubectl's status
    # subresource patch in place of its curl.
    node = kubectl.ok("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").strip()
    hostname = kubectl.ok(
        "get", "node", node, "-o", "jsonpath={.metadata.labels.kubernetes\\.io/hostname}"
    ).strip()
    add = '[{"op": "add", "path": "/status/capacity/example.com~1dongle", "value": "4"}]'
    kubectl.ok("patch", "node", node, "--subresource=status", "--type=json", "-p", add)
    try:
        wait_until(
            lambda: kubectl.ok(
                "get", "node", node, "-o",
                "jsonpath={.status.allocatable.example\\.com/dongle}",
            ).strip() == "4",
            timeout=60, interval=0.5, what="the dongles allocatable on the node",
        )
        kubectl.ok("apply", "-f", "-", stdin=DONGLE_POD % {
            "name": "three-dongles", "node": hostname, "count": 3})
        kubectl.ok("wait", "--for=condition=Ready", "pod/three-dongles", "--timeout", "120s")
        kubectl.ok("apply", "-f", "-", stdin=DONGLE_POD % {
            "name": "two-more", "node": hostname, "count": 2})

        def refusal() -> str:
            return kubectl.ok(
                "get", "pod", "two-more", "-o",
                "jsonpath={.status.conditions[?(@.type=='PodScheduled')].message}",
            )

        message = wait_until(refusal, timeout=60, interval=0.5, what="two-more unschedulable")
        assert "Insufficient example.com/dongle" in message, message
    finally:
        kubectl("delete", "pod", "three-dongles", "two-more", "--grace-period", "0",
                "--force", "--wait")
        remove = '[{"op": "remove", "path": "/status/capacity/example.com~1dongle"}]'
        kubectl("patch", "node", node, "--subresource=status", "--type=json", "-p", remove)


def test_cordon_marks_a_node_unschedulable_and_uncordon_clears_it(
    kubectl: Kubectl, cluster: Cluster
):
    node = cluster.node_name(2)
    kubectl.ok("cordon", node)
    try:
        live = json.loads(kubectl.ok("get", "node", node, "-o", "json"))
        assert live["spec"]["unschedulable"] is True
        assert "SchedulingDisabled" in kubectl.ok("get", "node", node)
    finally:
        kubectl.ok("uncordon", node)
    live = json.loads(kubectl.ok("get", "node", node, "-o", "json"))
    assert not live["spec"].get("unschedulable")


SLEEPERS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleepers}
spec:
  replicas: 3
  selector: {matchLabels: {app: sleepers}}
  template:
    metadata: {labels: {app: sleepers}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: sleep
        image: busybox:1.35
        command: ["sleep", "100000"]
"""


def test_drain_evicts_a_nodes_pods_and_they_run_again_on_the_other_nodes(
    kubectl: Kubectl, cluster: Cluster
):
    kubectl.ok("apply", "-f", "-", stdin=SLEEPERS)
    drained = ""
    try:
        kubectl.ok("rollout", "status", "deployment/sleepers", "--timeout", "180s")
        pods = rows(kubectl.ok("get", "pods", "-l", "app=sleepers", "-o", "wide"))
        drained = pods[0]["NODE"]
        # kubectl's drain: cordon, then an Eviction per pod (sent as Kubernetes' protobuf),
        # then it waits for each evicted pod to be gone.
        out = kubectl.ok(
            "drain", drained, "--ignore-daemonsets", "--delete-emptydir-data", "--force",
            "--timeout", "120s", timeout=180,
        )  # fmt: skip
        assert f"pod/{pods[0]['NAME']} evicted" in out, out
        assert f"node/{drained} drained" in out, out
        kubectl.ok("rollout", "status", "deployment/sleepers", "--timeout", "180s")
        after = rows(kubectl.ok("get", "pods", "-l", "app=sleepers", "-o", "wide"))
        running = [p for p in after if p["STATUS"] == "Running"]
        assert len(running) == 3, after
        assert all(p["NODE"] != drained for p in running), after
    finally:
        if drained:
            kubectl.ok("uncordon", drained)
        kubectl.ok("delete", "deployment", "sleepers", "--wait", "--timeout", "120s")


WEB = """
apiVersion: v1
kind: Pod
metadata: {name: forwarded, labels: {app: forwarded}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: nginx:1.14.2
    ports: [{containerPort: 80}]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
        return str(answer.read().decode())


def test_port_forward_carries_several_connections_to_the_pods_port(
    kubectl: Kubectl, streams: list[Streaming]
):
    kubectl.ok("apply", "-f", "-", stdin=WEB)
    try:
        kubectl.ok("wait", "--for=condition=Ready", "pod/forwarded", "--timeout=120s")
        port = _free_port()
        forwarding = stream(kubectl, streams, "port-forward", "pod/forwarded", f"{port}:80")
        forwarding.wait_for(f"Forwarding from 127.0.0.1:{port} -> 80")
        # Each request is its own connection: its own pair of SPDY streams in one session.
        for _ in range(3):
            assert "Welcome to nginx!" in _get(port)
        forwarding.wait_for(f"Handling connection for {port}")
        refused_port = _free_port()
        refused = stream(
            kubectl, streams, "port-forward", "pod/forwarded", f"{refused_port}:81"
        )
        refused.wait_for(f"Forwarding from 127.0.0.1:{refused_port} -> 81")
        with pytest.raises(OSError):
            _get(refused_port)  # nothing listens on 81: the connection ends without answer
    finally:
        kubectl("delete", "pod", "forwarded", "--grace-period", "0", "--force", "--wait")


ECHOER = """
apiVersion: v1
kind: Pod
metadata: {name: echoer}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: echo
    image: busybox:1.35
    stdin: true
    command: ["sh", "-c", "while read line; do echo got $line; done"]
"""


def test_attach_joins_the_containers_own_process_input_and_output(
    kubectl: Kubectl, streams: list[Streaming]
):
    kubectl.ok("apply", "-f", "-", stdin=ECHOER)
    try:
        kubectl.ok("wait", "--for=condition=Ready", "pod/echoer", "--timeout=120s")
        process = subprocess.Popen(
            ["kubectl", "attach", "-i", "echoer"],
            env=kubectl.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        streams.append(attached := Streaming(process))
        assert process.stdin is not None

        def say(line: str) -> bool:
            assert process.stdin is not None
            process.stdin.write(line + "\n")
            process.stdin.flush()
            return any(f"got {line}" in out for out in attached.lines)

        # The first line may go out before the session is joined: say it until it echoes.
        wait_until(lambda: say("hello"), timeout=60, interval=1, what="hello echoed")
        say("again")
        attached.wait_for("got again")
    finally:
        kubectl("delete", "pod", "echoer", "--grace-period", "0", "--force", "--wait")


SLEEPER = """
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: busybox:1.35
    command: ["sleep", "3600"]
"""


def test_debug_runs_a_shell_beside_the_app_that_sees_its_processes(
    kubectl: Kubectl, streams: list[Streaming]
):
    kubectl.ok("apply", "-f", "-", stdin=SLEEPER)
    try:
        kubectl.ok("wait", "--for=condition=Ready", "pod/sleeper", "--timeout=120s")
        pod = json.loads(kubectl.ok("get", "pod", "sleeper", "-o", "json"))
        app_ip = pod["status"]["podIP"]
        # kubectl debug -i: the ephemeral container is added, started by the kubelet in
        # the app's PID namespace, and attached to once kubectl sees it running.
        process = subprocess.Popen(
            ["kubectl", "debug", "-i", "sleeper", "--image=busybox:1.35", "--target=app",
             "-c", "dbg", "--", "sh"],
            env=kubectl.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        streams.append(debugging := Streaming(process))

        def say(line: str) -> None:
            assert process.stdin is not None
            process.stdin.write(line + "\n")
            process.stdin.flush()

        def sees_the_app() -> bool:
            # The first lines may go out before the session is joined: ask until answered.
            # (Anchored: grep's own command line holds the pattern too.)
            say("echo pids: $(ps -o args | grep -c '^sleep 3600') ips: $(ip -4 -o addr)")
            return any(line.startswith("pids: ") for line in debugging.lines)

        wait_until(sees_the_app, timeout=90, interval=1, what="the debugger answering")
        answer = next(line for line in debugging.lines if line.startswith("pids: "))
        assert answer.startswith("pids: 1 "), answer  # the app's process, seen
        assert f" {app_ip}/" in answer, answer  # the pod's own network
        say("exit 3")
        process.wait(timeout=60)

        def terminated() -> dict[str, object] | None:
            got = json.loads(kubectl.ok("get", "pod", "sleeper", "-o", "json"))
            [status] = got["status"].get("ephemeralContainerStatuses") or [{}]
            state = status.get("state", {})
            return state.get("terminated") if isinstance(state, dict) else None

        ended = wait_until(terminated, timeout=60, interval=1, what="dbg terminated")
        assert ended["exitCode"] == 3
        # Never restarted, and the pod it visited runs on, ready.
        got = json.loads(kubectl.ok("get", "pod", "sleeper", "-o", "json"))
        assert got["status"]["ephemeralContainerStatuses"][0].get("restartCount", 0) == 0
        assert got["status"]["phase"] == "Running"
        assert kubectl.ok("logs", "sleeper", "-c", "dbg").count("pids: ") >= 1
        assert {c["type"]: c["status"] for c in got["status"]["conditions"]}["Ready"] == "True"
    finally:
        kubectl("delete", "pod", "sleeper", "--grace-period", "0", "--force", "--wait")


def test_debug_node_runs_a_pod_on_that_node_with_its_root_at_host(kubectl: Kubectl):
    node = kubectl.ok("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").strip()
    assert node
    kubectl.ok(
        "debug", f"node/{node}", "--image=busybox:1.35", "--profile=general", "--",
        "sh", "-c", "test -d /host/proc && cat /host/etc/hostname",
    )  # fmt: skip

    def finished() -> dict[str, Any] | None:
        pods = json.loads(kubectl.ok("get", "pods", "-o", "json"))["items"]
        mine = [p for p in pods if p["metadata"]["name"].startswith(f"node-debugger-{node}-")]
        return mine[0] if mine and mine[0]["status"].get("phase") == "Succeeded" else None

    try:
        pod = wait_until(finished, timeout=90, interval=1, what="the node debugger done")
        assert pod["spec"]["nodeName"] == node and pod["spec"]["hostPID"]
        logs = kubectl.ok("logs", pod["metadata"]["name"])
        assert logs.strip(), "the node's hostname, read at /host"
    finally:
        for line in kubectl.ok("get", "pods", "-o", "name").split():
            if line.startswith(f"pod/node-debugger-{node}-"):
                kubectl("delete", line, "--grace-period", "0", "--force", "--wait")


PER_INDEX = """
apiVersion: batch/v1
kind: Job
metadata:
  name: per-index
spec:
  completions: 4
  parallelism: 2
  completionMode: Indexed
  backoffLimitPerIndex: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.35
        command:
        - sh
        - -c
        - |
          echo "index $JOB_COMPLETION_INDEX on $(hostname)"
          case "$JOB_COMPLETION_INDEX" in 0) exit 1;; 1) exit 42;; *) exit 0;; esac
  podFailurePolicy:
    rules:
    - action: FailIndex
      onExitCodes:
        containerName: main
        operator: In
        values: [42]
"""


def test_an_indexed_job_fails_an_index_by_its_exit_code_and_retries_another_once(
    kubectl: Kubectl,
):
    """The docs' backoffLimitPerIndex example on real containers: each pod reads its index
    from JOB_COMPLETION_INDEX; index 0 exits 1 twice (one retry), index 1 exits 42
    (FailIndex: no retry), indexes 2 and 3 succeed, and then the Job fails."""
    try:
        kubectl.ok("apply", "-f", "-", stdin=PER_INDEX)
        kubectl.ok("wait", "--for=condition=Failed", "job/per-index", "--timeout=120s")
        job = json.loads(kubectl.ok("get", "job", "per-index", "-o", "json"))
        status = job["status"]
        assert (status["failedIndexes"], status["completedIndexes"]) == ("0,1", "2,3")
        assert (status["failed"], status["succeeded"]) == (3, 2)
        failed = [c for c in status["conditions"] if c["type"] == "Failed"]
        assert [(c["reason"], c["message"]) for c in failed] == [
            ("FailedIndexes", "Job has failed indexes")
        ]
        pods = json.loads(kubectl.ok("get", "pods", "-l", "job-name=per-index", "-o", "json"))
        by_index: dict[str, list[dict[str, object]]] = {}
        for p in pods["items"]:
            index = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            by_index.setdefault(index, []).append(p)
        assert {i: len(ps) for i, ps in by_index.items()} == {"0": 2, "1": 1, "2": 1, "3": 1}
        (two,) = by_index["2"]
        log = kubectl.ok("logs", str(two["metadata"]["name"]))  # type: ignore[index]
        assert log == "index 2 on per-index-2\n"
    finally:
        kubectl("delete", "job", "per-index", "--ignore-not-found", "--wait")


PRIVATE_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: private
spec:
  imagePullSecrets:
  - name: regcred
  containers:
  - name: main
    image: {image}
    command: [sleep, "3600"]
"""


def test_a_docker_registry_secret_lets_a_pod_pull_from_a_private_registry(
    kubectl: Kubectl, tmp_path: Path
):
    """`kubectl create secret docker-registry`, as the docs' private-registry task does;
    the kubelet reads the Secret (the node authorizer allows it for its pod) and offers
    it to a real registry that refuses anonymous pulls."""
    with private_registry(tmp_path) as registry:
        try:
            kubectl.ok(
                "create", "secret", "docker-registry", "regcred",
                f"--docker-server={registry.address}",
                f"--docker-username={registry.username}",
                f"--docker-password={registry.password}",
            )  # fmt: skip
            kubectl.ok("apply", "-f", "-", stdin=PRIVATE_POD.format(image=registry.image))
            kubectl.ok("wait", "--for=condition=Ready", "pod/private", "--timeout=90s")
            events = kubectl.ok(
                "get", "events", "--field-selector", "involvedObject.name=private"
            )
            assert f'Successfully pulled image "{registry.image}"' in events
        finally:
            kubectl("delete", "pod", "private", "--ignore-not-found", "--grace-period=0", "--force")
            kubectl("delete", "secret", "regcred", "--ignore-not-found")
