"""A docker-driver cluster for tests: node containers started and removed the way a user does.

`running_container_cluster(...)` runs `tug up --driver docker` in a subprocess with TUG_HOME
in a temporary directory and a cluster name of its own (so two test runs on one engine
never touch each other's containers), and yields a `ContainerCluster`: a `tug(*args)` runner,
every node's address, and `docker` helpers. Whatever happens, the finalizer runs
`tug down`, then removes anything still carrying the cluster's label and fails the test if
`tug down` had left something behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from client.api import ApiClient, ClientOptions
from client.tls import ClientCredentials
from tests.support.cluster import Result

LABEL = "io.tugboat.cluster"
UP_TIMEOUT = 600


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    """`docker ARGS`: its stdout; AssertionError with its stderr when it fails and `check`."""
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def leftovers(name: str) -> dict[str, list[str]]:
    """What the engine still holds of the cluster: containers, volumes, networks."""
    found = {}
    for kind, argv in (
        ("containers", ["ps", "-a", "--format", "{{.Names}}"]),
        ("volumes", ["volume", "ls", "-q"]),
        ("networks", ["network", "ls", "--format", "{{.Name}}"]),
    ):
        found[kind] = docker(*argv, "--filter", f"label={LABEL}={name}").split()
    return found


def _purge(name: str) -> None:
    left = leftovers(name)
    if left["containers"]:
        docker("rm", "-f", *left["containers"], check=False)
    if left["volumes"]:
        docker("volume", "rm", "-f", *left["volumes"], check=False)
    for network in left["networks"]:
        docker("network", "rm", network, check=False)


@dataclass
class ContainerCluster:
    """A running docker-driver cluster."""

    name: str
    home: Path
    masters: int
    workers: int

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "TUG_HOME": str(self.home), "TUGCONFIG": str(self.home / "config")}

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

    def master(self, i: int) -> str:
        return f"{self.name}-master-{i}"

    def worker(self, j: int) -> str:
        return f"{self.name}-worker-{j}"

    @property
    def worker_names(self) -> list[str]:
        return [self.worker(j) for j in range(self.workers)]

    @property
    def master_names(self) -> list[str]:
        return [self.master(i) for i in range(self.masters)]

    def ip(self, container: str) -> str:
        """The container's address on the cluster network; AssertionError when it has none."""
        data = json.loads(docker("inspect", container))[0]
        network = data["NetworkSettings"]["Networks"].get(f"tug-{self.name}") or {}
        address = str(network.get("IPAddress", ""))
        assert address, f"{container} has no address on tug-{self.name}"
        return address

    @property
    def auth(self) -> Path:
        """Where `tug up` keeps the cluster CA and the admin's certificate."""
        return self.home / "clusters" / self.name / "auth"

    def credentials(self) -> ClientCredentials | None:
        """The admin's TLS credentials (None for an `--insecure` cluster)."""
        if not (self.auth / "ca.crt").exists():
            return None
        return ClientCredentials.from_files(
            self.auth / "ca.crt", self.auth / "admin.crt", self.auth / "admin.key"
        )

    def client(self, servers: list[str], options: ClientOptions | None = None) -> ApiClient:
        """An admin's client of `servers` (host:port), over TLS on a secure cluster."""
        return ApiClient(servers, replace(options or ClientOptions(), tls=self.credentials()))

    def give_tug_config(self, container: str) -> None:
        """Copy the host's tug config (the admin's context) into a node, for `tug` there."""
        self.exec(container, "install", "-d", "-m", "0700", "/root/.tug")
        docker("cp", str(self.home / "config"), f"{container}:/root/.tug/config")

    def exec(self, container: str, *argv: str, timeout: float = 60) -> str:
        """Run a command in a node container; its stdout."""
        return docker("exec", container, *argv, timeout=timeout)


def cluster_name(prefix: str = "t") -> str:
    """A name no other test run on this engine uses."""
    return prefix + "".join(random.choices(string.ascii_lowercase + string.digits, k=6))


@contextlib.contextmanager
def running_container_cluster(
    home: Path,
    *,
    masters: int = 1,
    workers: int = 2,
    etcd_members: int | None = None,
    config: Path | None = None,
    name: str | None = None,
) -> Iterator[ContainerCluster]:
    """`tug up --driver docker`; `tug down` and a check that nothing is left afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    cluster = ContainerCluster(name or cluster_name(), home, masters, workers)
    argv = ["up", "--driver", "docker", "--name", cluster.name]
    if config is not None:
        argv += ["--config", str(config)]
    else:
        argv += ["--masters", str(masters), "--workers", str(workers)]
        if etcd_members is not None:
            argv += ["--etcd-members", str(etcd_members)]
    try:
        up = cluster.tug(*argv, timeout=UP_TIMEOUT)
        assert up.code == 0, f"tug up failed:\n{up.out}\n{up.err}"
        yield cluster
    finally:
        down = cluster.tug("down", "--name", cluster.name, timeout=120)
        left = leftovers(cluster.name)
        _purge(cluster.name)
        assert down.code == 0, f"tug down failed: {down.err or down.out}"
        assert not any(left.values()), f"tug down left {left}"
