"""`tug-apiserver`: run one API server until SIGTERM or SIGINT, then stop gracefully."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import structlog

from client.flags import endpoint_list, from_flags, seconds, whole_seconds
from client.logs import configure_logging
from master.apiserver import encryption
from master.apiserver.allocators import DEFAULT_SERVICE_RANGE, parse_node_port_range
from master.apiserver.discovery import DiscoverySettings
from master.apiserver.server import ApiServer, ApiServerConfig
from master.etcdclient import add_etcd_tls_flags, etcd_tls

log = structlog.get_logger("apiserver")

STOP_GRACE_SECONDS = 5.0


def parse_args(argv: Sequence[str] | None = None) -> ApiServerConfig:
    """The configuration named on the command line."""
    p = argparse.ArgumentParser(prog="tug-apiserver", description="The Tugboat API server.")
    p.add_argument(
        "--etcd-servers",
        type=endpoint_list("--etcd-servers"),
        default=["127.0.0.1:2379"],
        help="comma-separated etcd client endpoints (host:port)",
    )
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument(
        "--advertise-address",
        default="",
        help="the address others reach this server by (default: --bind-address)",
    )
    p.add_argument("--port", type=int, default=6443, help="gRPC port")
    p.add_argument(
        "--http-port",
        type=int,
        default=None,
        help="port of /healthz, /readyz and /metrics (default: none)",
    )
    p.add_argument("--name", default="apiserver", help="this server's name in logs")
    p.add_argument(
        "--compaction-interval",
        type=seconds,
        default=60.0,
        help="seconds between etcd compactions (0: never)",
    )
    p.add_argument(
        "--compaction-retention",
        type=seconds,
        default=300.0,
        help="seconds of etcd history to keep",
    )
    p.add_argument(
        "--bookmark-interval",
        type=seconds,
        default=60.0,
        help="seconds between BOOKMARK events on watches that allow them",
    )
    p.add_argument(
        "--max-requests-inflight",
        type=int,
        default=400,
        help="without authentication: ordinary requests served at once, more are refused "
        "with TooManyRequests to be retried (Leases never are), 0: no cap; with it, part "
        "of API Priority and Fairness' concurrency limit",
    )
    p.add_argument(
        "--max-mutating-requests-inflight",
        type=int,
        default=200,
        help="the rest of API Priority and Fairness' concurrency limit (the two are summed)",
    )
    p.add_argument(
        "--enable-priority-and-fairness",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="dispatch authenticated requests by FlowSchemas and "
        "PriorityLevelConfigurations (--no-enable-priority-and-fairness: the "
        "--max-requests-inflight cap)",
    )
    p.add_argument(
        "--watch-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve watches and resourceVersion=0 lists from one etcd watch per "
        "resource, kept in memory (--no-watch-cache: an etcd watch per watch)",
    )
    p.add_argument(
        "--service-cluster-ip-range",
        default=DEFAULT_SERVICE_RANGE,
        help="CIDR ClusterIPs are allocated from",
    )
    p.add_argument(
        "--service-node-port-range",
        default="30000-32767",
        help="range nodePorts are allocated from",
    )
    p.add_argument(
        "--default-unreachable-toleration",
        type=whole_seconds,
        default=2,
        help="tolerationSeconds of the unreachable:NoExecute toleration added to "
        "every pod (Kubernetes: 300)",
    )
    p.add_argument(
        "--default-not-ready-toleration",
        type=whole_seconds,
        default=2,
        help="tolerationSeconds of the not-ready:NoExecute toleration added to "
        "every pod (Kubernetes: 300)",
    )
    p.add_argument(
        "--kubelet-http-port",
        type=int,
        default=10255,
        help="the kubelets' /metrics port on their node's address, for "
        "Prometheus' discovery at /discovery/prometheus",
    )
    p.add_argument(
        "--proxy-http-port",
        type=int,
        default=10249,
        help="the proxies' /metrics port on their node's address, likewise",
    )
    p.add_argument(
        "--register",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep a registration Lease in kube-system naming the status port, "
        "so Prometheus' discovery lists this server (with --http-port)",
    )
    p.add_argument(
        "--token-auth-file",
        default="",
        help='static bearer tokens, `token,user,uid,"group1,group2"` per line '
        "(default: no authentication)",
    )
    p.add_argument(
        "--encryption-provider-config",
        default="",
        help="an EncryptionConfiguration: resources encrypted in etcd (default: none)",
    )
    p.add_argument("--audit-log-path", default="", help="one JSON line per request (default: off)")
    p.add_argument(
        "--tls-cert-file",
        default="",
        help="PEM serving certificate: gRPC speaks TLS and HTTP HTTPS with it "
        "(default: plaintext, for tests)",
    )
    p.add_argument("--tls-private-key-file", default="", help="its private key")
    p.add_argument(
        "--client-ca-file",
        default="",
        help="client certificates chaining to this CA authenticate as their CN, "
        "in the groups of their O; gRPC callers must present one (needs "
        "--tls-cert-file)",
    )
    p.add_argument(
        "--anonymous-metrics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve /metrics on the HTTP port without credentials; with "
        "--no-anonymous-metrics it needs `get` on /metrics (system:monitoring)",
    )
    p.add_argument(
        "--kubelet-certificate-authority",
        default="",
        help="CA of the kubelets' serving certificates: node-agent calls (logs, "
        "exec, port-forward, stats) go over TLS (default: plaintext, for tests)",
    )
    p.add_argument(
        "--kubelet-client-certificate",
        default="",
        help="PEM certificate shown to kubelets (needs --kubelet-certificate-authority)",
    )
    p.add_argument("--kubelet-client-key", default="", help="its private key")
    add_etcd_tls_flags(p)
    p.add_argument(
        "--service-account-signing-key-file",
        default="",
        help="PEM RSA private key signing ServiceAccount tokens; every API server "
        "of a cluster needs the same (default: one made at start)",
    )
    p.add_argument(
        "--service-account-key-file",
        action="append",
        default=[],
        help="PEM public key also accepted on ServiceAccount tokens (repeatable)",
    )
    p.add_argument(
        "--authorization-mode",
        default="AlwaysAllow",
        help="AlwaysAllow, or a comma-separated list of Node and RBAC",
    )
    p.add_argument("--log-level", default="info")
    a = p.parse_args(argv)
    modes = tuple(m.strip() for m in a.authorization_mode.split(",") if m.strip())
    if (
        not modes
        or (set(modes) - {"AlwaysAllow", "Node", "RBAC"})
        or ("AlwaysAllow" in modes and len(modes) > 1)
    ):
        p.error(f"--authorization-mode: {a.authorization_mode!r}: use AlwaysAllow, or Node,RBAC")
    if bool(a.tls_cert_file) != bool(a.tls_private_key_file):
        p.error("--tls-cert-file and --tls-private-key-file: give both or neither")
    if bool(a.kubelet_client_certificate) != bool(a.kubelet_client_key):
        p.error("--kubelet-client-certificate and --kubelet-client-key: give both or neither")
    if a.kubelet_client_certificate and not a.kubelet_certificate_authority:
        p.error("--kubelet-client-certificate: needs --kubelet-certificate-authority (TLS)")
    if a.client_ca_file and not a.tls_cert_file:
        p.error("--client-ca-file: needs --tls-cert-file (client certificates need TLS)")
    for flag, value in (
        ("--tls-cert-file", a.tls_cert_file),
        ("--tls-private-key-file", a.tls_private_key_file),
        ("--client-ca-file", a.client_ca_file),
        ("--kubelet-certificate-authority", a.kubelet_certificate_authority),
        ("--kubelet-client-certificate", a.kubelet_client_certificate),
        ("--kubelet-client-key", a.kubelet_client_key),
    ):
        if value and not Path(value).is_file():
            p.error(f"{flag}: {value}: no such file")
    if a.encryption_provider_config:
        try:
            encryption.load(Path(a.encryption_provider_config))
        except encryption.EncryptionConfigError as e:
            p.error(f"--encryption-provider-config: {e}")
    for value in [a.service_account_signing_key_file, *a.service_account_key_file]:
        if value and not Path(value).is_file():
            p.error(f"service account key {value}: no such file")
    if a.token_auth_file and not Path(a.token_auth_file).is_file():
        p.error(f"--token-auth-file: {a.token_auth_file}: no such file")
    for flag, value in (
        ("--max-requests-inflight", a.max_requests_inflight),
        ("--max-mutating-requests-inflight", a.max_mutating_requests_inflight),
    ):
        if value < 0:
            p.error(f"{flag}: {value} is negative")
    if (
        a.enable_priority_and_fairness
        and a.max_requests_inflight + a.max_mutating_requests_inflight == 0
    ):
        p.error(
            "--max-requests-inflight plus --max-mutating-requests-inflight must be positive "
            "with API Priority and Fairness (its server concurrency limit)"
        )
    try:
        ipaddress.IPv4Network(a.service_cluster_ip_range, strict=False)
    except ValueError:
        p.error(f"--service-cluster-ip-range: {a.service_cluster_ip_range!r} is not an IPv4 CIDR")
    try:
        node_ports = parse_node_port_range(a.service_node_port_range)
    except ValueError as e:
        p.error(f"--service-node-port-range: {e}")
    for flag, port in (
        ("--port", a.port),
        ("--http-port", a.http_port),
        ("--kubelet-http-port", a.kubelet_http_port),
        ("--proxy-http-port", a.proxy_http_port),
    ):
        if port is not None and not 0 <= port <= 65535:
            p.error(f"{flag}: {port} is not a port number (0-65535)")
    try:
        configure_logging("apiserver", level=a.log_level)
    except ValueError as e:
        p.error(f"--log-level: {e}")
    return from_flags(
        ApiServerConfig,
        a,
        etcd_tls=etcd_tls(p, a),
        service_node_port_range=node_ports,
        authorization_modes=modes,
        service_account_key_files=tuple(a.service_account_key_file),
        discovery=DiscoverySettings(
            kubelet_http_port=a.kubelet_http_port, proxy_http_port=a.proxy_http_port
        ),
    )


async def run(config: ApiServerConfig) -> None:
    """Serve until a stop signal arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = ApiServer(config)
    try:
        await server.start()
        await stop.wait()
        log.info("stop signal received", key=server.endpoint)
    finally:
        await server.stop(STOP_GRACE_SECONDS)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `tug-apiserver`."""
    config = parse_args(argv)
    try:
        import uvloop

        runner: Callable[[Coroutine[Any, Any, None]], None] = uvloop.run
    except ImportError:  # uvloop is optional: plain asyncio serves as well, a little slower
        runner = asyncio.run
    try:
        runner(run(config))
    except OSError as e:
        log.error("cannot serve", key=f"{config.bind_address}:{config.port}", error=str(e))
        sys.exit(1)
    except Exception as e:
        log.error("api server failed", key=config.name, error=str(e))
        sys.exit(1)


if __name__ == "__main__":
    main()
