"""API servers for tests: in-process (fast, for most tests) or as a `tug-apiserver` process.

In-process:

    async with running_apiserver(etcd.endpoints) as server:
        channel = grpc.aio.insecure_channel(server.endpoint)

As a process (for tests that kill it):

    proc = ApiServerProcess.start(etcd.endpoints)   # waits for /readyz
    try: ... proc.kill() ...
    finally: proc.stop()
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from client.timeouts import within
from client.tls import ClientCredentials
from master.apiserver.server import ApiServer, ApiServerConfig
from tests.support.ports import free_port
from tests.support.waiting import wait_until

FLOW_CONFIG_SECONDS = 20.0


@asynccontextmanager
async def running_apiserver(
    etcd_endpoints: Sequence[str],
    *,
    http: bool = True,
    name: str = "test-apiserver",
    compaction_interval: float = 0.0,
    compaction_retention: float = 300.0,
    allocation_repair_interval: float = 0.0,
    bookmark_interval: float = 60.0,
    register: bool = False,
    token_auth_file: str = "",
    authorization_modes: tuple[str, ...] = ("AlwaysAllow",),
    audit_log_path: str = "",
    encryption_provider_config: str = "",
    watch_cache: bool = True,
    tls_cert_file: str = "",
    tls_private_key_file: str = "",
    client_ca_file: str = "",
    etcd_tls: ClientCredentials | None = None,
    anonymous_metrics: bool = True,
    max_requests_inflight: int = 400,
    max_mutating_requests_inflight: int = 200,
) -> AsyncIterator[ApiServer]:
    """An API server in this process on 127.0.0.1 (free ports), stopped on exit.

    Compaction is off unless asked for; tests compact with `server.compactor.compact_now()`.
    So is the allocation repair, whose first pass would read etcd just after the start, in
    the middle of what a test counts; tests repair with
    `server.allocation_repair.repair_once()`.
    Registration is off unless asked for: its periodic writes would move etcd's revision.
    The built-in FlowSchemas and PriorityLevelConfigurations are in place when it yields.
    """
    server = ApiServer(
        ApiServerConfig(
            etcd_servers=list(etcd_endpoints),
            bind_address="127.0.0.1",
            port=0,
            http_port=0 if http else None,
            name=name,
            compaction_interval=compaction_interval,
            compaction_retention=compaction_retention,
            allocation_repair_interval=allocation_repair_interval,
            bookmark_interval=bookmark_interval,
            register=register,
            token_auth_file=token_auth_file,
            authorization_modes=authorization_modes,
            audit_log_path=audit_log_path,
            encryption_provider_config=encryption_provider_config,
            watch_cache=watch_cache,
            tls_cert_file=tls_cert_file,
            tls_private_key_file=tls_private_key_file,
            client_ca_file=client_ca_file,
            etcd_tls=etcd_tls,
            anonymous_metrics=anonymous_metrics,
            max_requests_inflight=max_requests_inflight,
            max_mutating_requests_inflight=max_mutating_requests_inflight,
        )
    )
    try:
        await server.start()
        # Its built-in flow control objects are written in the background at start:
        # done before the test, whose counts of etcd's writes they would move.
        await within(server.flow_config.settled.wait(), FLOW_CONFIG_SECONDS)
        yield server
    finally:
        await server.stop(grace=0.5)


def _command() -> list[str]:
    exe = shutil.which("tug-apiserver", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "master.apiserver.main"]


@dataclass
class ApiServerProcess:
    """A `tug-apiserver` subprocess; stop or kill it only through this object (by PID)."""

    etcd_endpoints: list[str]
    port: int
    http_port: int
    name: str
    host: str = "127.0.0.1"
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def start(
        cls,
        etcd_endpoints: Sequence[str],
        *,
        name: str = "test-apiserver",
        host: str = "127.0.0.1",
        extra_args: Sequence[str] = (),
        timeout: float = 30.0,
    ) -> ApiServerProcess:
        """Start one and wait until its /readyz answers 200 (or fail, stopping it)."""
        proc = cls(
            list(etcd_endpoints), free_port(host), free_port(host), name, host, list(extra_args)
        )
        proc.launch()
        try:
            proc.wait_ready(timeout)
        except BaseException:
            proc.stop()
            raise
        return proc

    def launch(self) -> None:
        """Start (or restart) the process on the same ports."""
        fd, path = tempfile.mkstemp(prefix=f"tugboat-{self.name}-", suffix=".log")
        self.log_path = Path(path)
        with os.fdopen(fd, "ab") as log:
            self.process = subprocess.Popen(
                [
                    *_command(),
                    "--etcd-servers", ",".join(self.etcd_endpoints),
                    "--bind-address", self.host,
                    "--port", str(self.port),
                    "--http-port", str(self.http_port),
                    "--name", self.name,
                    # No registration Lease: its periodic writes would move etcd's revision.
                    "--no-register",
                    *self.extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> bool:
        """Whether /readyz answers 200 now."""
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"tug-apiserver {self.name} exited early:\n{self.logs()}")
        # With a serving certificate the port is HTTPS; readiness does not judge the CA.
        tls = "--tls-cert-file" in self.extra_args
        context = ssl._create_unverified_context() if tls else None
        try:
            url = f"{'https' if tls else 'http'}://{self.host}:{self.http_port}/readyz"
            with urllib.request.urlopen(url, timeout=1, context=context) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until(self.ready, timeout=timeout, what=f"tug-apiserver {self.name} ready")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL by PID and reap."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM by PID; the exit code (SIGKILL after `timeout`)."""
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode)

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and remove its log."""
        if self.process is not None:
            self.terminate()
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
