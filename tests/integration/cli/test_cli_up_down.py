"""`tug up` / `tug down` as a user runs them: separate processes, a private TUG_HOME.

Each test picks its own block of loopback ports, and a finalizer stops whatever the
state file still records, so a failing test leaves no process behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cli import health
from cli.cluster.probes import accepts, port_in_use
from cli.cluster.processes import Record, alive, stop_all

pytestmark = pytest.mark.slow

SPAN = 50
"""Ports a cluster may use from its base port (see cli/cluster/layout.py)."""


def free_base_port() -> int:
    """A base port whose whole block is free on 127.0.0.1 right now."""
    # Below the kernel's ephemeral range (32768+), where other tests' free ports come from.
    for _ in range(50):
        base = random.randrange(12000, 32000, 100)
        if not any(port_in_use("127.0.0.1", base + i) for i in range(SPAN)):
            return base
    raise AssertionError("no free block of ports found")


class Cluster:
    """Runs `tug` as a subprocess with TUG_HOME in a temporary directory."""

    def __init__(self, home: Path, base_port: int) -> None:
        self.home = home
        self.base_port = base_port
        self.env = {**os.environ, "TUG_HOME": str(home), "TUGCONFIG": str(home / "config")}

    def tug(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self, *extra: str) -> subprocess.CompletedProcess[str]:
        # Masters only: nodes (Docker) are the e2e and chaos suites' business.
        return self.tug(
            "up", "--masters", "2", "--nodes", "0", "--base-port", str(self.base_port), *extra
        )

    def records(self) -> list[Record]:
        path = self.home / "clusters" / "local" / "state.json"
        if not path.exists():
            return []
        return [Record.from_dict(p) for p in json.loads(path.read_text())["processes"]]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path / "tug-home", free_base_port())
    try:
        yield c
    finally:
        seen = c.records()
        if seen:
            c.tug("down")
            # Whatever `tug down` could not stop, stopped here by its recorded PID.
            asyncio.run(stop_all([r for r in seen if alive(r)], grace=2))


def refuses(port: int) -> bool:
    return not accepts("127.0.0.1", port)


def test_up_then_down_leaves_no_process_and_no_listening_port(cluster: Cluster) -> None:
    up = cluster.up()
    assert up.returncode == 0, up.stderr
    assert 'Cluster "local" is up' in up.stdout
    records = cluster.records()
    assert [r.name for r in records] == [
        "etcd",
        "apiserver-0",
        "apiserver-1",
        "scheduler-0",
        "scheduler-1",
        "controller-manager-0",
        "controller-manager-1",
    ]
    assert all(alive(r) for r in records)
    ports = [p for r in records for p in r.ports]
    assert all(accepts("127.0.0.1", p) for p in ports)
    got = cluster.tug("get", "namespaces", "-o", "name")
    assert got.returncode == 0, got.stderr
    assert "namespace/default" in got.stdout.splitlines()

    again = cluster.up()
    assert again.returncode == 0
    assert "already running" in again.stdout

    down = cluster.tug("down")
    assert down.returncode == 0, down.stderr
    assert down.stdout == 'Cluster "local" stopped (7 processes).\n'
    assert not any(alive(r) for r in records)
    assert all(refuses(p) for p in ports)
    config = yaml.safe_load((cluster.home / "config").read_text())
    assert (config["contexts"], config["current-context"]) == ([], "")
    unreachable = cluster.tug("get", "pods")
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("error: cannot reach any API server (127.0.0.1:6443)")


def test_data_survives_a_restart_and_fresh_wipes_it(cluster: Cluster) -> None:
    assert cluster.up().returncode == 0
    made = cluster.tug("create", "namespace", "kept")
    assert made.returncode == 0, made.stderr
    assert cluster.tug("down").returncode == 0
    assert cluster.up().returncode == 0
    assert cluster.tug("get", "ns", "kept").returncode == 0
    fresh = cluster.up("--fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert "Stopping 7 processes" in fresh.stdout
    gone = cluster.tug("get", "ns", "kept")
    assert gone.returncode == 1
    assert gone.stderr == 'error: namespaces "kept" not found\n'


def test_a_port_in_use_is_refused_before_anything_starts(cluster: Cluster) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", cluster.base_port))
        blocker.listen()
        up = cluster.up()
    assert up.returncode == 1
    assert up.stderr.startswith(
        f"error: ports in use: 127.0.0.1:{cluster.base_port} (apiserver-0)"
    )
    assert cluster.records() == []


def test_down_without_a_cluster_says_so(cluster: Cluster) -> None:
    down = cluster.tug("down")
    assert (down.returncode, down.stdout) == (0, 'No cluster "local" is running.\n')




def test_up_is_secure_unless_asked_for_insecure(cluster: Cluster) -> None:
    """By default every API server speaks TLS and tug's context holds the CA and the
    admin's certificate; `--insecure` gives today's plaintext cluster and context."""
    up = cluster.up("--fresh")
    assert up.returncode == 0, up.stderr
    config = yaml.safe_load((cluster.home / "config").read_text())
    assert "certificate-authority-data" in config["clusters"][0]["cluster"]
    assert "client-certificate-data" in config["users"][0]["user"]
    assert cluster.tug("get", "namespaces").returncode == 0
    # A plaintext health check of the API server's gRPC port gets no answer.
    endpoint = f"127.0.0.1:{cluster.base_port}"
    assert asyncio.run(health.check(endpoint)) == (False, "unreachable")
    assert cluster.tug("down").returncode == 0

    plain = cluster.up("--fresh", "--insecure")
    assert plain.returncode == 0, plain.stderr
    config = yaml.safe_load((cluster.home / "config").read_text())
    assert "certificate-authority-data" not in config["clusters"][0]["cluster"]
    assert "users" not in config
    assert asyncio.run(health.check(endpoint)) == (True, "SERVING")
