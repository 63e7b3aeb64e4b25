"""A leader-elected daemon: flags, logging, status port, election, and a fenced API client.

`tug-scheduler` and `tug-controller-manager` run on every master but act only while
they lead their component. This module is what they share: it parses the common flags,
campaigns, and for each term of office opens an ApiClient whose every write carries the
term's fence, keeps the kube-system Lease up to date, and runs the component's work
until the term ends. The work is cancelled before the Lease could pass to anyone else
(see `master.leaderelection`); the next term starts from scratch with fresh informers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import REGISTRY

from client.api import ApiClient, ClientOptions
from client.flags import endpoint_list, positive_seconds
from client.logs import configure_logging
from client.statusserver import StatusServer
from client.timeouts import cancel_and_wait, within
from client.tls import ClientCredentials, add_client_flags, client_credentials
from client.tokens import read_token
from master.etcdclient import add_etcd_tls_flags, etcd_tls
from master.leaderelection.election import (
    Callbacks,
    ConfigError,
    ElectionConfig,
    LeaderElector,
    Leadership,
    default_identity,
)
from master.leaderelection.lease import LeaseKeeper
from master.registration import Registration

log = structlog.get_logger("elected")

Work = Callable[[ApiClient, Leadership], Coroutine[Any, Any, None]]
"""A component's leader-only work, given the term's fenced client."""


@dataclass
class ElectedOptions:
    """The flags every elected component takes."""

    servers: list[str]
    etcd_servers: list[str]
    name: str
    leader_lease: float
    http_host: str
    http_port: int | None
    log_level: str
    token: str = field(default="", repr=False)
    """The bearer token sent to the API servers (--token-file)."""
    tls: ClientCredentials | None = field(default=None, repr=False)
    """The cluster CA and this component's certificate (--certificate-authority, ...)."""
    etcd_tls: ClientCredentials | None = field(default=None, repr=False)
    """etcd's CA and this component's certificate for the election (--etcd-cafile, ...)."""


def add_flags(p: argparse.ArgumentParser) -> None:
    """The election and connection flags."""
    p.add_argument(
        "--server",
        type=endpoint_list("--server"),
        default=["127.0.0.1:6443"],
        help="comma-separated API servers, own master's first (host:port)",
    )
    p.add_argument(
        "--etcd-servers",
        type=endpoint_list("--etcd-servers"),
        default=["127.0.0.1:2379"],
        help="comma-separated etcd endpoints, for the leader election only",
    )
    p.add_argument("--name", default="", help="identity in the election (default host-pid)")
    p.add_argument("--token-file", default="", help="a file holding this component's token")
    add_client_flags(p)
    add_etcd_tls_flags(p)
    p.add_argument(
        "--leader-lease",
        type=positive_seconds,
        default=3.0,
        help="seconds of the leader lease (TTL)",
    )
    p.add_argument("--http-host", default="127.0.0.1", help="address of the status port")
    p.add_argument(
        "--http-port",
        type=int,
        default=None,
        help="port of /healthz, /readyz and /metrics (default: none)",
    )
    p.add_argument("--log-level", default="info")


def parse_options(
    prog: str,
    description: str,
    argv: Sequence[str] | None,
    extra: Callable[..., None] | None = None,
) -> tuple[ElectedOptions, argparse.Namespace]:
    """Parse and check the flags; a bad one exits with a message naming it."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    add_flags(p)
    if extra is not None:
        extra(p)
    a = p.parse_args(argv)
    if a.http_port is not None and not 0 <= a.http_port <= 65535:
        p.error(f"--http-port: {a.http_port} is not a port number (0-65535)")
    try:
        ElectionConfig(prog, identity=a.name or default_identity(), lease_ttl=a.leader_lease)
    except ConfigError as e:
        p.error(f"--leader-lease: {e}")
    try:
        configure_logging(prog, level=a.log_level)
    except ValueError as e:
        p.error(f"--log-level: {e}")
    try:
        token = read_token(a.token_file)
    except ValueError as e:
        p.error(f"--token-file: {e}")
    opts = ElectedOptions(
        token=token,
        tls=client_credentials(p, a),
        etcd_tls=etcd_tls(p, a),
        servers=a.server,
        etcd_servers=a.etcd_servers,
        name=a.name or default_identity(),
        leader_lease=a.leader_lease,
        http_host=a.http_host,
        http_port=a.http_port,
        log_level=a.log_level,
    )
    return opts, a


async def run_elected(
    component: str,
    opts: ElectedOptions,
    work: Work,
    routes: Sequence[web.RouteDef] = (),
) -> None:
    """Campaign and run `work` in each term, until SIGTERM/SIGINT (then resign).

    `routes` are served on the status port beside /healthz, /readyz and /metrics.
    """
    config = ElectionConfig(component, identity=opts.name, lease_ttl=opts.leader_lease)
    elector = LeaderElector(
        opts.etcd_servers,
        config,
        callbacks=Callbacks(new_leader=lambda who: log.info("leader", key=config.key, leader=who)),
        tls=opts.etcd_tls,
    )

    async def ready() -> str | None:
        return None if elector.healthy() else "leader lease renewal overdue"

    status: StatusServer | None = None
    if opts.http_port is not None:
        status = StatusServer(opts.http_host, opts.http_port, registry=REGISTRY, ready=ready)
        status.add_routes(routes)
        await status.start()

    async def term(leadership: Leadership) -> None:
        api = ApiClient(
            opts.servers,
            ClientOptions(
                fence=leadership.fence,
                user_agent=f"{component}/{opts.name}",
                token=opts.token,
                tls=opts.tls,
            ),
        )
        keeper = LeaseKeeper(
            api,
            name=component,
            identity=opts.name,
            duration_seconds=math.ceil(config.lease_ttl),
            renew_interval=max(config.renew_interval, 1.0),
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(keeper.run())
                tg.create_task(work(api, leadership))
        finally:
            with contextlib.suppress(Exception):
                await within(api.close(), timeout=2.0)

    # Standbys included, every process registers where its metrics are (for discovery).
    registering: asyncio.Task[None] | None = None
    registry_api: ApiClient | None = None
    if status is not None:
        registry_api = ApiClient(
            opts.servers,
            ClientOptions(user_agent=f"{component}/{opts.name}", token=opts.token, tls=opts.tls),
        )
        address = f"{opts.http_host}:{status.port}"
        registering = asyncio.create_task(
            Registration(
                registry_api, component=component, identity=opts.name, address=address
            ).run()
        )

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, elector.stop)
    try:
        await elector.run(term)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if registering is not None:
            await cancel_and_wait([registering], 3.0)
        if registry_api is not None:
            await registry_api.close()
        if status is not None:
            await status.stop()
