"""A real etcd for tests: one member (or three) on loopback ports, stopped by PID; with
`EtcdTls`, serving its clients and peers over TLS and demanding client certificates."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import free_port
from tests.support.waiting import wait_until


@dataclass(frozen=True)
class EtcdTls:
    """etcd's certificate (for clients and peers) and the CA that clients' must chain to."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    client: ssl.SSLContext
    """A client certificate of the CA, for health checks."""

    def flags(self) -> list[str]:
        out: list[str] = []
        for side in ("", "peer-"):
            out += [
                f"--{side}cert-file", str(self.cert_file),
                f"--{side}key-file", str(self.key_file),
                f"--{side}trusted-ca-file", str(self.ca_file),
                f"--{side}client-cert-auth=true",
            ]  # fmt: skip
        return out


@dataclass
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    tls: EtcdTls | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    def healthy(self) -> bool:
        context = self.tls.client if self.tls is not None else None
        try:
            url = f"{self.scheme}://{self.endpoint}/health"
            with urllib.request.urlopen(url, timeout=1, context=context) as r:
                return b'"true"' in r.read()
        except OSError:
            return False


@dataclass
class EtcdCluster:
    members: list[EtcdMember]
    base: Path
    _initial: str = ""
    _started: bool = field(default=False)

    @property
    def endpoints(self) -> list[str]:
        return [m.endpoint for m in self.members]

    @property
    def endpoint(self) -> str:
        return self.members[0].endpoint

    def start_member(self, m: EtcdMember, *, new: bool) -> None:
        m.log_path = self.base / f"{m.name}.log"
        log = open(m.log_path, "ab")
        m.process = subprocess.Popen(
            [
                shutil.which("etcd") or "etcd",
                "--name", m.name,
                "--data-dir", str(m.data_dir),
                "--listen-client-urls", f"{m.scheme}://127.0.0.1:{m.client_port}",
                "--advertise-client-urls", f"{m.scheme}://127.0.0.1:{m.client_port}",
                "--listen-peer-urls", f"{m.scheme}://127.0.0.1:{m.peer_port}",
                "--initial-advertise-peer-urls", f"{m.scheme}://127.0.0.1:{m.peer_port}",
                "--initial-cluster", self._initial,
                "--initial-cluster-state", "new" if new else "existing",
                "--heartbeat-interval", "50",
                "--election-timeout", "500",
                *(m.tls.flags() if m.tls is not None else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()

    def kill_member(self, m: EtcdMember) -> None:
        if m.process and m.process.poll() is None:
            m.process.kill()
            m.process.wait(timeout=10)

    def start(self) -> None:
        self._initial = ",".join(
            f"{m.name}={m.scheme}://127.0.0.1:{m.peer_port}" for m in self.members
        )
        for m in self.members:
            self.start_member(m, new=True)
        for m in self.members:
            wait_until(m.healthy, timeout=30, what=f"etcd member {m.name} healthy")

    def stop(self) -> None:
        for m in self.members:
            if m.process and m.process.poll() is None:
                m.process.terminate()
                try:
                    m.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    m.process.kill()
                    m.process.wait(timeout=10)
        shutil.rmtree(self.base, ignore_errors=True)


def start_etcd(members: int = 1, tls: EtcdTls | None = None) -> EtcdCluster:
    """Start a fresh etcd cluster of `members` members and wait until each is healthy."""
    base = Path(tempfile.mkdtemp(prefix="tugboat-etcd-"))
    cluster = EtcdCluster(
        members=[
            EtcdMember(f"m{i}", free_port(), free_port(), base / f"m{i}", tls=tls)
            for i in range(members)
        ],
        base=base,
    )
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
