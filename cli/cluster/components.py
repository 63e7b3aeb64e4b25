"""What a local cluster runs: one function per role, returning how to start it.

`MASTER_ROLES` run once per master and `NODE_ROLES` once per node; a later role is
one function and one line in its tuple (a scheduler: `scheduler(layout, i)` using
`layout.port(3, i)` for its metrics).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from cli.cluster import credentials
from cli.cluster.layout import HOST, Layout
from cli.cluster.probes import http_get
from cli.errors import CliError
from client.timeouts import within
from client.tls import ClientCredentials

BAD_ETCD = ((3, 5, 0), (3, 5, 2))
"""etcd 3.5.0-3.5.2 can lose consistency after a hard kill (etcd issue 13766)."""


@dataclass(frozen=True)
class Component:
    """One process of the cluster: its name, command line, ports and readiness check."""

    name: str
    argv: list[str]
    ports: list[int]
    ready: Callable[[], Awaitable[bool]]
    host: str = HOST
    """The address its ports are on (a node's own loopback address for node roles)."""


def _flat(flags: dict[str, str]) -> list[str]:
    return [part for pair in flags.items() for part in pair]


def executable(script: str) -> str:
    """A console script of this installation (next to this Python), else one on PATH."""
    here = Path(sys.executable).parent / script
    if here.exists():
        return str(here)
    found = shutil.which(script)
    if found is None:
        raise CliError(f"{script} not found next to {sys.executable} or on PATH")
    return found


def _answers(
    host: str, port: int, path: str, *, tls: bool = False
) -> Callable[[], Awaitable[bool]]:
    """A readiness check: the component's status endpoint `path` answers 200."""

    async def ready() -> bool:
        status, _ = await http_get(host, port, path, tls=tls)
        return status == 200

    return ready


def _etcd_binary() -> str:
    found = shutil.which("etcd")
    if found is None:
        raise CliError("etcd not found on PATH: install Debian's etcd-server (`make setup` does)")
    return found


def parse_etcd_version(text: str) -> tuple[int, int, int]:
    """(3, 4, 23) from `etcd --version` output; CliError when it has no version."""
    match = re.search(r"etcd Version:\s*(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise CliError(f"cannot tell the etcd version from `etcd --version`: {text.strip()!r}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def refuse_bad_etcd(version: tuple[int, int, int]) -> None:
    """CliError for the etcd releases DESIGN.md rules out."""
    low, high = BAD_ETCD
    if low <= version <= high:
        text = ".".join(map(str, version))
        raise CliError(
            f"etcd {text} can lose consistency after a crash (etcd issue 13766); "
            "use 3.4.22 or later 3.4, or 3.5.6 or later"
        )


async def check_etcd() -> str:
    """The etcd binary to run, after checking its version."""
    binary = _etcd_binary()
    proc = await asyncio.create_subprocess_exec(
        binary,
        "--version",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await within(proc.communicate(), timeout=10)
    refuse_bad_etcd(parse_etcd_version(out.decode(errors="replace")))
    return binary


def etcd(layout: Layout, binary: str, member: int = 0) -> Component:
    """etcd member m, data under the cluster directory; one of `layout.etcd_members`."""
    client, peer = layout.etcd_client_port(member), layout.etcd_peer_port(member)
    single = layout.etcd_members == 1
    name = "etcd" if single else f"etcd-{member}"
    member_name = f"{layout.name}-etcd" if single else f"{layout.name}-etcd-{member}"
    scheme = "https" if layout.secure else "http"
    peers = ",".join(
        (f"{layout.name}-etcd" if single else f"{layout.name}-etcd-{m}")
        + f"={scheme}://{HOST}:{layout.etcd_peer_port(m)}"
        for m in range(layout.etcd_members)
    )

    async def ready() -> bool:
        tls: bool | ssl.SSLContext = False
        if layout.secure:
            # etcd demands a client certificate of the CA even for /health.
            tls = _etcd_client(layout, credentials.ETCD_CLIENT).ssl_context()
        status, body = await http_get(HOST, client, "/health", tls=tls)
        return status == 200 and b'"true"' in body

    flags = {
        "--name": member_name,
        "--data-dir": str(layout.etcd_data_for(member)),
        "--listen-client-urls": f"{scheme}://{HOST}:{client}",
        "--advertise-client-urls": f"{scheme}://{HOST}:{client}",
        "--listen-peer-urls": f"{scheme}://{HOST}:{peer}",
        "--initial-advertise-peer-urls": f"{scheme}://{HOST}:{peer}",
        "--initial-cluster": peers,
        "--initial-cluster-state": "new",
        "--initial-cluster-token": f"{layout.name}-{layout.base_port}",
    }
    if layout.secure:
        cert, key = credentials.etcd_cert_files(layout)
        ca = str(credentials.ca_file(layout))
        for side in ("", "peer-"):
            flags[f"--{side}cert-file"], flags[f"--{side}key-file"] = str(cert), str(key)
            flags[f"--{side}trusted-ca-file"] = ca
        # Go's boolean flags take their value after "=" only.
        argv = [binary, *_flat(flags), "--client-cert-auth=true", "--peer-client-cert-auth=true"]
    else:
        argv = [binary, *_flat(flags)]
    return Component(name, argv, [client, peer], ready)


def etcd_cluster(layout: Layout, binary: str) -> list[Component]:
    """Every etcd member: started as one tier, since a member waits for its quorum."""
    return [etcd(layout, binary, m) for m in range(layout.etcd_members)]


def apiserver(layout: Layout, i: int) -> Component:
    """Master i's API server."""
    grpc_port, http_port = layout.apiserver_port(i), layout.apiserver_http_port(i)

    flags = {
        "--etcd-servers": ",".join(layout.etcd_endpoints()),
        "--bind-address": HOST,
        "--port": str(grpc_port),
        "--http-port": str(http_port),
        "--name": f"{layout.name}-master-{i}",
        # Where Prometheus' discovery finds each node's kubelet and proxy.
        "--kubelet-http-port": str(layout.kubelet_http_port()),
        "--proxy-http-port": str(layout.proxy_http_port()),
    }
    if layout.secure:
        flags["--token-auth-file"] = str(credentials.token_auth_file(layout))
        flags["--authorization-mode"] = "Node,RBAC"
        flags["--audit-log-path"] = str(layout.logs / f"apiserver-{i}.audit.jsonl")
        flags["--encryption-provider-config"] = str(credentials.encryption_config(layout))
        cert, key = credentials.apiserver_cert_files(layout)
        flags["--tls-cert-file"], flags["--tls-private-key-file"] = str(cert), str(key)
        # Both CAs: the cluster's, and the signer's for certificates users got by request.
        flags["--client-ca-file"] = str(credentials.client_ca_bundle(layout))
        flags.update(_etcd_tls(layout, credentials.ETCD_CLIENT))
        flags["--kubelet-certificate-authority"] = str(credentials.ca_file(layout))
        cert, key = credentials.certificate_files(layout, credentials.KUBELET_CLIENT)
        flags["--kubelet-client-certificate"], flags["--kubelet-client-key"] = str(cert), str(key)
        # One key for every API server, so each verifies the others' ServiceAccount tokens.
        flags["--service-account-signing-key-file"] = str(credentials.service_account_key(layout))
    # Prometheus shows a certificate in system:monitoring; nobody else reads /metrics.
    switches = ["--no-anonymous-metrics"] if layout.secure else []
    return Component(
        f"apiserver-{i}",
        [executable("tug-apiserver"), *_flat(flags), *switches],
        [grpc_port, http_port],
        _answers(HOST, http_port, "/readyz", tls=layout.secure),
    )


def _etcd_client(layout: Layout, identity: str) -> ClientCredentials:
    cert, key = credentials.certificate_files(layout, identity)
    return ClientCredentials.from_files(credentials.ca_file(layout), cert, key)


API_SERVER_TLS_FLAGS = ("--certificate-authority", "--client-certificate", "--client-key")
"""kubectl's names, which every daemon takes for the API servers."""
ETCD_TLS_FLAGS = ("--etcd-cafile", "--etcd-certfile", "--etcd-keyfile")
"""kube-apiserver's names for etcd."""


def _tls_flags(layout: Layout, identity: str, names: tuple[str, str, str]) -> dict[str, str]:
    """The cluster CA and `identity`'s client certificate and key, under `names`."""
    cert, key = credentials.certificate_files(layout, identity)
    ca_flag, cert_flag, key_flag = names
    return {ca_flag: str(credentials.ca_file(layout)), cert_flag: str(cert), key_flag: str(key)}


def _etcd_tls(layout: Layout, identity: str) -> dict[str, str]:
    """A process's flags to reach etcd over TLS as `identity`."""
    return _tls_flags(layout, identity, ETCD_TLS_FLAGS)


def _client_tls(layout: Layout, identity: str) -> dict[str, str]:
    """A daemon's flags to reach the API servers as `identity`."""
    return _tls_flags(layout, identity, API_SERVER_TLS_FLAGS)


def _elected(
    layout: Layout, i: int, program: str, short: str, block: int, extra: dict[str, str]
) -> Component:
    """Master i's leader-elected daemon: its own API server first, status on `block`,
    and the flags `extra` of its own."""
    http_port = layout.port(block, i)
    flags = {
        "--server": ",".join(layout.servers_for(i)),
        "--etcd-servers": ",".join(layout.etcd_endpoints()),
        "--name": f"{layout.name}-master-{i}",
        "--http-host": HOST,
        "--http-port": str(http_port),
        **extra,
    }
    if layout.secure:
        identity = {
            "tug-scheduler": credentials.SCHEDULER,
            "tug-controller-manager": credentials.CONTROLLER_MANAGER,
        }[program]
        flags.update(_client_tls(layout, identity))
        flags.update(_etcd_tls(layout, identity))  # for the leader election
    return Component(
        f"{short}-{i}",
        [executable(program), *_flat(flags)],
        [http_port],
        _answers(HOST, http_port, "/healthz"),
    )


def scheduler(layout: Layout, i: int) -> Component:
    """Master i's scheduler (acts only while it leads)."""
    return _elected(layout, i, "tug-scheduler", "scheduler", 3, {})


def controller_manager(layout: Layout, i: int) -> Component:
    """Master i's controller manager (acts only while it leads); in a secure cluster it
    signs approved CertificateSigningRequests with the client signer, a CA only the API
    servers trust: with the cluster CA's key, what it signs would open etcd."""
    signing = {}
    if layout.secure:
        cert, key = credentials.signing_ca_files(layout)
        signing = {
            "--cluster-signing-cert-file": str(cert),
            "--cluster-signing-key-file": str(key),
        }
    return _elected(layout, i, "tug-controller-manager", "controller-manager", 4, signing)


MASTER_ROLES: tuple[Callable[[Layout, int], Component], ...] = (
    apiserver,
    scheduler,
    controller_manager,
)
"""Started on every master, in this order, after etcd."""


def _node_flags(layout: Layout, j: int) -> dict[str, str]:
    """What node j's kubelet and proxy are both told: which node, and where to reach."""
    return {
        "--node-name": layout.node_name(j),
        "--address": layout.node_address(j),
        # Spread the nodes over the API servers; each fails over to the others.
        "--server": ",".join(layout.servers_for(j)),
    }


def kubelet(layout: Layout, j: int) -> Component:
    """Node j's kubelet: real Docker, on the node's own loopback address."""
    address, grpc_port, http_port = (
        layout.node_address(j),
        layout.kubelet_port(),
        layout.kubelet_http_port(),
    )
    flags = {
        **_node_flags(layout, j),
        "--root-dir": str(layout.node_root(j)),
        "--port": str(grpc_port),
        "--http-port": str(http_port),
    }
    if layout.secure:
        flags.update(_client_tls(layout, credentials.node_identity(layout, j)))
        cert, key = credentials.kubelet_serving_files(layout, j)
        flags["--tls-cert-file"], flags["--tls-private-key-file"] = str(cert), str(key)
        flags["--client-ca-file"] = str(credentials.ca_file(layout))
        flags["--cluster-ca-file"] = str(credentials.ca_file(layout))
    return Component(
        f"kubelet-{j}",
        [executable("tug-kubelet"), *_flat(flags)],
        [grpc_port, http_port],
        _answers(address, http_port, "/healthz"),
        address,
    )


def proxy(layout: Layout, j: int) -> Component:
    """Node j's service proxy and DNS, on the node's own loopback address."""
    address, http_port = layout.node_address(j), layout.proxy_http_port()
    flags = {**_node_flags(layout, j), "--http-port": str(http_port)}
    if layout.secure:
        flags.update(_client_tls(layout, credentials.PROXY))
    return Component(
        f"proxy-{j}",
        [executable("tug-proxy"), *_flat(flags)],
        [http_port],
        _answers(address, http_port, "/readyz"),
        address,
    )


def has_proxy() -> bool:
    """Whether this installation has `tug-proxy` (issue 6) to run on every node."""
    try:
        executable("tug-proxy")
    except CliError:
        return False
    return True


def node_roles() -> tuple[Callable[[Layout, int], Component], ...]:
    """NODE_ROLES, without the proxy where this installation has none."""
    return tuple(r for r in NODE_ROLES if r is not proxy or has_proxy())


NODE_ROLES: tuple[Callable[[Layout, int], Component], ...] = (kubelet, proxy)
"""Started on every node, in this order, after the masters."""
