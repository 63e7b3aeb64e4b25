"""A whole local cluster for e2e and chaos tests, started and stopped the way a user does.

`running_cluster(...)` runs `tug up` in a subprocess with TUG_HOME in a temporary
directory, a free block of loopback ports and its own node addresses (127.X.Y.2...), and
yields a `Cluster` handle: the state file's processes by name, a `tug(*args)` runner, and
helpers to kill and restart recorded processes. Whatever happens in the test, the
finalizer runs `tug down`, stops every process still recorded (also ones a test
restarted) by its PID, and removes every container labelled with one of its nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from cli.cluster.probes import port_in_use
from cli.cluster.processes import Record, alive, spawn, stop_all
from client.api import ApiClient, ClientOptions
from client.tls import ClientCredentials

NODE_LABEL = "io.tugboat.node"
SPAN = 70
"""Ports a cluster uses from its base port on 127.0.0.1, monitoring included (see
cli/cluster/layout.py)."""


def free_base_port() -> int:
    """A base port whose whole block is free on 127.0.0.1 now (below the ephemeral range)."""
    for _ in range(100):
        base = random.randrange(12000, 32000, 100)
        if not any(port_in_use("127.0.0.1", base + i) for i in range(SPAN)):
            return base
    raise AssertionError("no free block of ports found")


def free_node_address() -> str:
    """A first node address in 127.0.0.0/8 away from the default nodes (127.0.0.2...)."""
    return f"127.{random.randrange(100, 250)}.{random.randrange(1, 250)}.2"


@dataclass
class Result:
    """What one `tug` run printed and returned."""

    code: int
    out: str
    err: str

    def ok(self) -> str:
        """stdout, after asserting the command succeeded."""
        assert self.code == 0, f"tug failed ({self.code}): {self.err or self.out}"
        return self.out


@dataclass
class Cluster:
    """A running `tug up` cluster: its files, processes and a CLI runner."""

    name: str
    home: Path
    base_port: int
    node_address: str
    masters: int
    nodes: int
    etcd_members: int
    started: list[Record] = field(default_factory=list)
    """Every process ever recorded, restarts included: the finalizer's safety net."""

    @property
    def env(self) -> dict[str, str]:
        """The environment `tug` runs with: this cluster's TUG_HOME and config."""
        return {
            **os.environ,
            "TUG_HOME": str(self.home),
            "TUGCONFIG": str(self.home / "config"),
        }

    @property
    def root(self) -> Path:
        """The cluster's directory (state file, logs, etcd data, node directories)."""
        return self.home / "clusters" / self.name

    @property
    def servers(self) -> list[str]:
        """The API servers' endpoints."""
        return [f"127.0.0.1:{self.base_port + i}" for i in range(self.masters)]

    def client(
        self, servers: list[str] | None = None, options: ClientOptions | None = None
    ) -> ApiClient:
        """An admin's client of the API servers (all unless `servers`): with the cluster
        CA and the admin's certificate when `tug up` made them (the default), plaintext
        on an `--insecure` cluster."""
        options = options or ClientOptions()
        auth = self.root / "auth"
        if (auth / "ca.crt").exists():
            options = replace(
                options,
                tls=ClientCredentials.from_files(
                    auth / "ca.crt", auth / "admin.crt", auth / "admin.key"
                ),
            )
        return ApiClient(servers or self.servers, options)

    def node_name(self, j: int) -> str:
        """Node j's name, as `tug up` gives it."""
        return f"{self.name}-node-{j}"

    def node_ip(self, j: int) -> str:
        """Node j's loopback address."""
        a, b, c, d = (int(x) for x in self.node_address.split("."))
        n = (a << 24 | b << 16 | c << 8 | d) + j
        return ".".join(str(n >> s & 255) for s in (24, 16, 8, 0))

    def tug(self, *argv: str, timeout: float = 120, stdin: str = "") -> Result:
        """`tug ARGV...` in a subprocess against this cluster."""
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *argv],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def records(self) -> list[Record]:
        """The processes the state file records now."""
        path = self.root / "state.json"
        if not path.exists():
            return []
        return [Record.from_dict(p) for p in json.loads(path.read_text())["processes"]]

    def record(self, name: str) -> Record:
        """The recorded process called `name` (e.g. "kubelet-1", "apiserver-0", "etcd-2")."""
        for r in self.records():
            if r.name == name:
                return r
        raise AssertionError(f"no process {name!r} in {self.root / 'state.json'}")

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> Record:
        """Send `sig` to the recorded process `name` (only while it is that process)."""
        r = self.record(name)
        if alive(r):
            os.kill(r.pid, sig)
        if sig == signal.SIGKILL:
            deadline = time.monotonic() + 10
            while alive(r) and time.monotonic() < deadline:
                time.sleep(0.02)
        return r

    def restart(self, name: str) -> Record:
        """Start the recorded process `name` again with its command line; re-recorded."""
        old = self.record(name)
        assert not alive(old), f"{name} (pid {old.pid}) still runs"
        new = spawn(old.name, old.argv, Path(old.log), self.root, old.ports)
        self.started.append(new)
        path = self.root / "state.json"
        data = json.loads(path.read_text())
        data["processes"] = [
            new.to_dict() if p["name"] == name else p for p in data["processes"]
        ]
        tmp = path.with_name("state.json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)
        return new

    def containers(self, node: int | None = None) -> list[str]:
        """IDs of the Docker containers of one node (or of all this cluster's nodes)."""
        names = [self.node_name(j) for j in range(self.nodes)] if node is None else [
            self.node_name(node)
        ]
        out: list[str] = []
        for n in names:
            done = subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"label={NODE_LABEL}={n}"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            out += done.stdout.split()
        return out

    def remove_containers(self, node: int | None = None) -> None:
        """`docker rm -f` every container of one node (or of all nodes)."""
        ids = self.containers(node)
        if ids:
            subprocess.run(
                ["docker", "rm", "-f", *ids], capture_output=True, timeout=120, check=False
            )


SMOKE_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: tug-smoke
  namespace: kube-public
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: sleep
    image: busybox:1.35
    command: ["sleep", "3600"]
"""


def _smoke(cluster: Cluster, timeout: float = 60) -> None:
    """Fail fast, saying why, when the nodes cannot run a pod at all (e.g. Docker trouble),
    rather than let every test time out on its own."""
    cluster.tug("apply", "-f", "-", stdin=SMOKE_POD).ok()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cluster.tug("get", "pod", "tug-smoke", "-n", "kube-public")
        if "Running" in got.out:
            cluster.tug("delete", "pod", "tug-smoke", "-n", "kube-public", "--now")
            return
        time.sleep(0.5)
    page = cluster.tug("describe", "pod", "tug-smoke", "-n", "kube-public").out
    raise AssertionError(f"no pod runs on this cluster's nodes within {timeout:g}s:\n{page}")


def _teardown(cluster: Cluster) -> None:
    """`tug down`, then stop and remove whatever it left; AssertionError naming it if any."""
    down: Result | None = None
    with contextlib.suppress(Exception):
        down = cluster.tug("down", "--name", cluster.name, timeout=180)
    # Whatever `tug down` could not stop (or never knew of), stopped by its recorded PID.
    leftovers = [r for r in [*cluster.records(), *cluster.started] if alive(r)]
    if leftovers:
        for r in leftovers:
            # A SIGSTOPped process would ignore SIGTERM until resumed.
            with contextlib.suppress(ProcessLookupError):
                os.kill(r.pid, signal.SIGCONT)
        asyncio.run(stop_all(leftovers, grace=3))
    containers = cluster.containers()
    cluster.remove_containers()
    # The finalizer doubles as the test of `tug down` itself: it must leave nothing.
    problems = []
    if down is None or down.code != 0:
        problems.append(f"tug down failed: {down.err if down else 'did not run'}")
    if leftovers:
        problems.append(f"processes left running: {sorted({r.name for r in leftovers})}")
    if containers:
        problems.append(f"{len(containers)} containers left")
    if problems:
        raise AssertionError("; ".join(problems))


@contextlib.contextmanager
def running_cluster(
    home: Path,
    *,
    name: str,
    masters: int = 3,
    nodes: int = 3,
    etcd_members: int = 1,
    extra: tuple[str, ...] = (),
) -> Iterator[Cluster]:
    """`tug up` a fresh cluster under `home`; always torn down (processes and containers)."""
    cluster = Cluster(
        name=name,
        home=home,
        base_port=free_base_port(),
        node_address=free_node_address(),
        masters=masters,
        nodes=nodes,
        etcd_members=etcd_members,
    )
    try:
        up = cluster.tug(
            "up",
            "--name", name,
            "--masters", str(masters),
            "--nodes", str(nodes),
            "--etcd-members", str(etcd_members),
            "--base-port", str(cluster.base_port),
            "--node-address", cluster.node_address,
            "--fresh",
            *extra,
            timeout=240,
        )  # fmt: skip
        cluster.started = cluster.records()
        assert up.code == 0, f"tug up failed:\n{up.out}\n{up.err}"
        _smoke(cluster)
        yield cluster
    finally:
        _teardown(cluster)
