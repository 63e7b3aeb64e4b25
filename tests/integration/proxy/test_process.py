"""`tug-proxy` as a process: ready after its first sync, metrics, SIGKILL and restart."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client.api import ApiClient
from tests.integration.proxy.conftest import Backend, ask, service, set_endpoints
from tests.support.ports import free_port
from tests.support.waiting import eventually, wait_until

NODE = "127.0.0.25"


class ProxyProcess:
    """A tug-proxy subprocess, signalled only by its own PID."""

    def __init__(self, server: str) -> None:
        self.http_port = free_port(NODE)
        self.args = [
            "--node-name", "p1", "--address", NODE, "--server", server,
            "--interface", "", "--cluster-dns", "", "--dns-port", "0",
            "--http-port", str(self.http_port), "--sync-period", "2",
        ]
        fd, path = tempfile.mkstemp(prefix="tugboat-proxy-", suffix=".log")
        os.close(fd)
        self.log = Path(path)
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        exe = Path(sys.executable).parent / "tug-proxy"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "proxy.main"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([*cmd, *self.args], stdout=out, stderr=out)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://{NODE}:{self.http_port}{path}", timeout=1) as r:
                return int(r.status), r.read().decode()
        except OSError:
            return 0, ""

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"tug-proxy exited:\n{self.log.read_text()}")
        return self.get("/readyz")[0] == 200

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def proxy_process(apiserver: Any) -> Iterator[ProxyProcess]:
    proc = ProxyProcess(apiserver.endpoint)
    try:
        yield proc
    finally:
        proc.stop()
        proc.log.unlink(missing_ok=True)


async def test_a_killed_proxy_serves_again_after_restart_and_resync(
    api: ApiClient, backends: list[Backend], proxy_process: ProxyProcess
) -> None:
    np = random.randint(30000, 32767)
    await api.create(service("web", node_port=np))
    await set_endpoints(api, "web", backends[:1])
    proxy_process.launch()
    await asyncio.to_thread(wait_until, proxy_process.ready, timeout=30, what="tug-proxy ready")
    assert await ask(NODE, np) == "pod-0"

    proxy_process.kill()
    await set_endpoints(api, "web", backends[1:2])
    proxy_process.launch()
    await asyncio.to_thread(wait_until, proxy_process.ready, timeout=30, what="ready again")

    async def on_new_endpoint() -> bool:
        try:
            return await ask(NODE, np, timeout=1.0) == "pod-1"
        except OSError:
            return False

    await eventually(on_new_endpoint, what="serving the endpoint changed while it was down")
    status, text = proxy_process.get("/metrics")
    assert status == 200
    assert 'tugboat_proxy_connections_total{service="default/web"}' in text
    assert "tugboat_proxy_sync_duration_seconds_count" in text


def test_a_bad_flag_is_refused_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "proxy.main", "--node-name", "x", "--address", "localhost",
         "--server", "127.0.0.1:1"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "--address: 'localhost' is not an IPv4 address" in result.stderr
