"""Where a local cluster lives: its directory under TUG_HOME and its loopback ports.

Every port derives from one base port, in blocks of ten per role, so two clusters
started with base ports 100 apart never collide:

    base+0..9    API servers, gRPC        (6443, 6444, 6445 by default)
    base+10..19  API servers, HTTP        (/healthz, /readyz, /metrics)
    base+20..29  etcd: client, peer per member (base+20, base+21 for the first)
    base+30..49  schedulers, controller managers (HTTP status)
    base+50..59  node daemons: the same ports on each node's own loopback address
                 (kubelet gRPC base+50, kubelet HTTP base+51, proxy HTTP base+52)
    base+60..69  monitoring (`tug up --monitoring`): Prometheus base+60, Grafana base+61

Each node has its own loopback address (127.0.0.2, 127.0.0.3, ...: `node_address(j)`),
so NodePorts and DNS on port 53 never clash between nodes; a second cluster on the
same machine starts its nodes from another first address (`--node-address`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from cli.config import tug_home
from cli.errors import CliError

DEFAULT_NAME = "local"
NODE_IMAGE = "tugboat/node:0.1.0"
"""The docker driver's node image (deploy/node-image/build.sh tags the package version)."""
DEFAULT_BASE_PORT = 6443
MAX_MASTERS = 9
MAX_NODES = 200
MAX_ETCD_MEMBERS = 5
DEFAULT_NODE_ADDRESS = "127.0.0.2"
HOST = "127.0.0.1"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")


@dataclass(frozen=True)
class Layout:
    """Paths and ports of one named local cluster."""

    name: str
    base_port: int = DEFAULT_BASE_PORT
    masters: int = 3
    nodes: int = 0
    """Nodes, each running every role of NODE_ROLES (a kubelet, a proxy)."""
    etcd_members: int = 1
    node_address_base: str = DEFAULT_NODE_ADDRESS
    """The first node's loopback address; the next nodes count up from it."""
    secure: bool = False
    """TLS everywhere, every component presents its certificate, and the API servers
    authorize (Node, RBAC)."""
    home: Path | None = None
    """The TUG_HOME the cluster lives in; None: `tug_home()` (a test names its own)."""

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
        if not 1 <= self.etcd_members <= MAX_ETCD_MEMBERS:
            raise CliError(
                f"--etcd-members: must be between 1 and {MAX_ETCD_MEMBERS}, got {self.etcd_members}"
            )
        try:
            first = ipaddress.IPv4Address(self.node_address_base)
        except ValueError:
            raise CliError(
                f"--node-address: {self.node_address_base!r} is not an IPv4 address"
            ) from None
        if not first.is_loopback or not (first + self.nodes).is_loopback:
            raise CliError(
                f"--node-address: {self.node_address_base} and the {self.nodes} addresses "
                "from it must be in 127.0.0.0/8"
            )
        if not 1024 <= self.base_port <= 65535 - 100:
            raise CliError(f"--base-port: must be between 1024 and 65435, got {self.base_port}")

    @property
    def root(self) -> Path:
        """`$TUG_HOME/clusters/NAME`."""
        return (self.home or tug_home()) / "clusters" / self.name

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

    @property
    def auth_dir(self) -> Path:
        """The cluster's credentials (tokens), readable by its owner only."""
        return self.root / "auth"

    def apiserver_http_port(self, i: int) -> int:
        """The HTTP (health, metrics) port of master i's API server."""
        return self.port(1, i)

    def etcd_client_port(self, member: int = 0) -> int:
        """etcd member m's client port."""
        return self.port(2, 2 * member)

    def etcd_peer_port(self, member: int = 0) -> int:
        """etcd member m's peer port."""
        return self.port(2, 2 * member + 1)

    def etcd_endpoints(self) -> list[str]:
        """Every etcd member's client endpoint, for `--etcd-servers`."""
        return [f"{HOST}:{self.etcd_client_port(m)}" for m in range(self.etcd_members)]

    def etcd_data_for(self, member: int) -> Path:
        """Member m's data directory (the first member's is `etcd/`, as for one member)."""
        return self.etcd_data if member == 0 else self.root / f"etcd-{member}"

    def node_name(self, node: int) -> str:
        """Node j's name: `tug-node-j` in the default cluster, `NAME-node-j` in others,
        so two clusters sharing one Docker engine never own each other's containers."""
        prefix = "tug" if self.name == DEFAULT_NAME else self.name
        return f"{prefix}-node-{node}"

    def node_root(self, node: int) -> Path:
        """Node j's kubelet directory (volumes, pod files)."""
        return self.root / "nodes" / self.node_name(node)

    def kubelet_port(self) -> int:
        """The kubelet's node-agent gRPC port, on each node's own address."""
        return self.port(5, 0)

    def kubelet_http_port(self) -> int:
        """The kubelet's /healthz and /metrics port, on each node's own address."""
        return self.port(5, 1)

    def proxy_http_port(self) -> int:
        """The proxy's /healthz, /readyz and /metrics port, on each node's own address."""
        return self.port(5, 2)

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
        return str(ipaddress.IPv4Address(self.node_address_base) + node)
