"""The real components as processes, for controller tests that kill, pause or restart them.

Each process logs to a temporary file and is signalled only by its own PID; the
`components` fixture stops every process it started (SIGCONT, SIGTERM, then SIGKILL)
whatever the test did.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelet.runtime.interface import LABEL_NODE
from tests.support.etcd import EtcdCluster
from tests.support.ports import free_port


def _command(program: str, module: str) -> list[str]:
    exe = shutil.which(program, path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", module]


class Proc:
    """One component process."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        fd, path = tempfile.mkstemp(prefix=f"tugboat-{name}-", suffix=".log")
        self.log_path = Path(path)
        with os.fdopen(fd, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def signal(self, sig: int) -> None:
        """Send `sig` to this process by its PID (if it still runs)."""
        if self.running:
            os.kill(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL and reap."""
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGCONT, SIGTERM, SIGKILL after 10 s; remove the log."""
        if self.running:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log_path.unlink(missing_ok=True)


class Components:
    """Starts schedulers, controller managers and simulated kubelets on one API server."""

    def __init__(self, server: str, etcd: EtcdCluster, root: Path) -> None:
        self.server = server
        self.etcd = etcd
        self.root = root
        self.started: list[Proc] = []
        self.docker_nodes: list[str] = []

    def _start(self, name: str, argv: list[str]) -> Proc:
        proc = Proc(name, argv)
        self.started.append(proc)
        return proc

    def scheduler(self, name: str = "sched-1") -> Proc:
        return self._start(
            name,
            [
                *_command("tug-scheduler", "master.scheduler.main"),
                "--server", self.server,
                "--etcd-servers", ",".join(self.etcd.endpoints),
                "--name", name,
                "--leader-lease", "2",
            ],
        )  # fmt: skip

    def controller_manager(self, name: str, *flags: str) -> Proc:
        return self._start(
            name,
            [
                *_command("tug-controller-manager", "master.controllermanager.main"),
                "--server", self.server,
                "--etcd-servers", ",".join(self.etcd.endpoints),
                "--name", name,
                "--leader-lease", "2",
                *flags,
            ],
        )  # fmt: skip

    def docker_kubelet(self, node_name: str, *flags: str, address: str = "127.0.0.1") -> Proc:
        """One node running real Docker containers (removed by label at teardown)."""
        self.docker_nodes.append(node_name)
        return self._start(
            f"kubelet-{node_name}",
            [
                *_command("tug-kubelet", "kubelet.main"),
                "--node-name", node_name,
                "--address", address,
                "--server", self.server,
                "--port", str(free_port(address)),
                "--root-dir", str(self.root / node_name),
                "--runtime", "docker",
                "--lease-period", "1",
                *flags,
            ],
        )  # fmt: skip

    def kubelets(self, node_name: str, count: int, *flags: str) -> Proc:
        """`count` simulated nodes (named node_name-i, or node_name when count is 1)."""
        return self._start(
            f"kubelet-{node_name}",
            [
                *_command("tug-kubelet", "kubelet.main"),
                "--node-name", node_name,
                "--address", "127.0.0.1",
                "--server", self.server,
                "--port", str(free_port("127.0.0.1")),
                "--root-dir", str(self.root / node_name),
                "--runtime", "fake",
                "--simulate", str(count),
                "--lease-period", "1",
                "--fake-start-delay", "0.2",
                *flags,
            ],
        )  # fmt: skip

    def stop(self) -> None:
        for proc in reversed(self.started):
            proc.stop()
        for node in self.docker_nodes:
            remove_node_containers(node)


def remove_node_containers(node: str) -> None:
    """Force-remove the containers labelled with `node` (never anyone else's)."""
    import docker

    client = docker.from_env()
    try:
        for c in client.api.containers(all=True, filters={"label": [f"{LABEL_NODE}={node}"]}):
            try:
                client.api.remove_container(c["Id"], force=True)
            except docker.errors.NotFound:
                pass
    finally:
        client.close()


@pytest.fixture
def components(apiserver: object, etcd_clean: EtcdCluster, tmp_path: Path) -> Iterator[Components]:
    """Start real components against the test API server; all stopped afterwards."""
    c = Components(apiserver.endpoint, etcd_clean, tmp_path)  # type: ignore[attr-defined]
    try:
        yield c
    finally:
        c.stop()
