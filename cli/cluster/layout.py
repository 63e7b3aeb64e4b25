"""Where a local cluster lives: its directory under TUG_HOME and its loopback ports.

Every port derives from one base port, in blocks of ten per role, so two clusters
started with base ports 100 apart never collide:

    base+0..9    API servers, gRPC        (6443, 6444, 6445 by default)
    base+10..19  API servers, HTTP        (/healthz, /readyz, /metrics)
    base+20..29  etcd: client, peer per member
    base+30..    later master roles (schedulers, controller managers): block 3, 4, ...
    nodes        each on its own loopback address (127.0.0.2, ...): `node_address(j)`
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cli.config import tug_home
from cli.errors import CliError

DEFAULT_NAME = "local"
DEFAULT_BASE_PORT = 6443
MAX_MASTERS = 9
MAX_NODES = 200
HOST = "127.0.0.1"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")


@dataclass(frozen=True)
class Layout:
    """Paths and ports of one named local cluster."""

    name: str
    base_port: int = DEFAULT_BASE_PORT
    masters: int = 3
    nodes: int = 0
    """Nodes (kubelet and proxy each) once NODE_ROLES has roles."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise CliError(
                f'--name: "{self.name}" is not a valid cluster name '
                "(lower-case letters, digits and '-', at most 32)"
            )
        if not 1 <= self.masters <= MAX_MASTERS:
            raise CliError(f"--masters: must be between 1 and {MAX_MASTERS}, got {self.masters}")
        if not 0 <= self.nodes <= MAX_NODES:
            raise CliError(f"--nodes: must be between 0 and {MAX_NODES}, got {self.nodes}")
        if not 1024 <= self.base_port <= 65535 - 100:
            raise CliError(f"--base-port: must be between 1024 and 65435, got {self.base_port}")

    @property
    def root(self) -> Path:
        """`$TUG_HOME/clusters/NAME`."""
        return tug_home() / "clusters" / self.name

    @property
    def state_file(self) -> Path:
        """The record of every process `tug up` started."""
        return self.root / "state.json"

    @property
    def logs(self) -> Path:
        """One log file per process."""
        return self.root / "logs"

    @property
    def etcd_data(self) -> Path:
        """etcd's data directory: what `--fresh` wipes."""
        return self.root / "etcd"

    def port(self, block: int, index: int = 0) -> int:
        """The port of slot `index` in a block of ten (see the module docstring)."""
        return self.base_port + 10 * block + index

    def apiserver_port(self, i: int) -> int:
        """The gRPC port of master i's API server."""
        return self.port(0, i)

    def apiserver_http_port(self, i: int) -> int:
        """The HTTP (health, metrics) port of master i's API server."""
        return self.port(1, i)

    def etcd_client_port(self) -> int:
        """etcd's client port."""
        return self.port(2, 0)

    def etcd_peer_port(self) -> int:
        """etcd's peer port."""
        return self.port(2, 1)

    def servers(self) -> list[str]:
        """The API servers' endpoints, for the client config."""
        return [f"{HOST}:{self.apiserver_port(i)}" for i in range(self.masters)]

    def servers_for(self, master: int) -> list[str]:
        """The API servers as master i's components list them: their own first."""
        servers = self.servers()
        i = master % len(servers)
        return servers[i:] + servers[:i]

    def node_address(self, node: int) -> str:
        """Node j's own loopback address (127.0.0.2, 127.0.0.3, ...), so nodes' ports
        never clash."""
        return f"127.0.{(node + 2) // 256}.{(node + 2) % 256}"
