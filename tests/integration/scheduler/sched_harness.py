"""An in-process scheduler on a real API server, and object builders for its tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from client.api import ApiClient, ClientOptions
from client.codec import from_dict
from client.events import EventRecorder
from master.scheduler.api_writer import ApiWriter
from master.scheduler.scheduler import Scheduler
from master.scheduler.sources import Sources
from proto import api_pb2, core_pb2, workloads_pb2


@asynccontextmanager
async def running_scheduler(
    endpoints: Sequence[str], *, fence: api_pb2.Fence | None = None
) -> AsyncIterator[Scheduler]:
    """A scheduler term without the election: informers synced, loop running."""
    api = ApiClient(list(endpoints), ClientOptions(fence=fence))
    recorder = EventRecorder(api, "default-scheduler")
    scheduler = Scheduler(ApiWriter(api, recorder))
    sources = Sources(api, scheduler)
    task: asyncio.Task[None] | None = None
    try:
        assert await sources.start(sync_timeout=30), "scheduler informers did not sync"
        task = asyncio.create_task(scheduler.run())
        yield scheduler
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await sources.stop()
        await recorder.close()
        await api.close()


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    labels: dict[str, str] | None = None,
) -> core_pb2.Node:
    """A Node object as a kubelet would register it (no kubelet runs)."""
    return from_dict(
        core_pb2.Node,
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, **(labels or {})},
            },
            "status": {
                "capacity": {"cpu": cpu, "memory": memory, "pods": pods},
                "allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        },
    )


def pod(
    name: str,
    *,
    cpu: str = "100m",
    memory: str = "64Mi",
    labels: dict[str, str] | None = None,
    namespace: str = "default",
    **spec: Any,
) -> core_pb2.Pod:
    """A one-container busybox Pod requesting cpu and memory."""
    return from_dict(
        core_pb2.Pod,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox:1.35",
                        "command": ["sleep", "3600"],
                        "resources": {"requests": {"cpu": cpu, "memory": memory}},
                    }
                ],
                **spec,
            },
        },
    )


def priority_class(name: str, value: int) -> workloads_pb2.PriorityClass:
    """A PriorityClass."""
    return from_dict(
        workloads_pb2.PriorityClass,
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": value,
        },
    )


class ElectedProcess:
    """A `tug-scheduler` (or other elected daemon) subprocess, signalled only by its PID."""

    def __init__(
        self,
        name: str,
        servers: Sequence[str],
        etcd: Sequence[str],
        lease: float,
        *,
        program: str = "tug-scheduler",
        module: str = "master.scheduler.main",
    ) -> None:
        import os
        import shutil
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        from tests.support.ports import free_port

        self.name = name
        self.http_port = free_port()
        fd, path = tempfile.mkstemp(prefix=f"tugboat-{name}-", suffix=".log")
        self.log_path = Path(path)
        exe = shutil.which(program, path=str(Path(sys.executable).parent))
        cmd = [exe] if exe else [sys.executable, "-m", module]
        with os.fdopen(fd, "ab") as log:
            self.process = subprocess.Popen(
                [
                    *cmd,
                    "--server",
                    ",".join(servers),
                    "--etcd-servers",
                    ",".join(etcd),
                    "--name",
                    name,
                    "--leader-lease",
                    str(lease),
                    "--http-port",
                    str(self.http_port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def signal(self, sig: int) -> None:
        """Send a signal to this process (by PID) if it still runs."""
        import os

        if self.process.poll() is None:
            os.kill(self.process.pid, sig)

    def metric(self, name: str) -> float | None:
        """One sample from its /metrics (None when it does not answer)."""
        import urllib.request

        try:
            url = f"http://127.0.0.1:{self.http_port}/metrics"
            with urllib.request.urlopen(url, timeout=1) as r:
                text = r.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def logs(self) -> str:
        """Everything it logged ("" once stopped: the log is removed then)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """SIGCONT (in case it was stopped), SIGTERM, SIGKILL if it lingers; drop its log."""
        import signal
        import subprocess

        if self.process.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log_path.unlink(missing_ok=True)


SchedulerProcess = ElectedProcess
