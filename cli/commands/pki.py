"""`tug pki issue`: the credentials of a secure cluster on hosts that `tug up` does not
start itself (Vagrant VMs, hosts joined by hand), one folder per host for
`configure.sh --pki`, and optionally tug's context and a kubeconfig for its admin.

`tug up --driver docker` does the same for its containers without this command; both go
through cli/cluster/hostpki.py, so a VM and a container node get the same files.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
from pathlib import Path
from typing import Any

from cli import config as configfile
from cli.cluster import hostpki, kubeconfig
from cli.errors import CliError
from cli.invocation import Invocation

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
API_PORT, API_HTTP_PORT = 6443, 8443


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug pki issue`."""
    p = sub.add_parser("pki", parents=[common], help="credentials of a cluster on hosts")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    issue = verbs.add_parser(
        "issue", parents=[common], help="a CA and every host's certificates, for configure.sh"
    )
    issue.add_argument("--out", type=Path, required=True, help="folder to write (one per host)")
    issue.add_argument("--cluster", required=True, help="the cluster's name")
    issue.add_argument(
        "--master",
        action="append",
        default=[],
        metavar="NAME=IP",
        help="a master host (repeat); etcd runs on every master",
    )
    issue.add_argument(
        "--worker", action="append", default=[], metavar="NAME=IP", help="a worker host (repeat)"
    )
    issue.add_argument(
        "--set-context",
        action="store_true",
        help="also make it tug's current context, and write its kubeconfig",
    )
    issue.set_defaults(func=issue_command)


def _hosts(flag: str, values: list[str]) -> dict[str, str]:
    """NAME=IP pairs; CliError naming the flag and the value."""
    hosts: dict[str, str] = {}
    for value in values:
        name, sep, address = value.partition("=")
        if not sep or not _NAME.match(name):
            raise CliError(f"{flag}: {value!r} is not NAME=IP with a valid host name")
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise CliError(f"{flag}: {value!r}: {address!r} is not an IPv4 address") from None
        if name in hosts:
            raise CliError(f"{flag}: {name} is given twice")
        hosts[name] = address
    return hosts


async def issue_command(inv: Invocation) -> int:
    """Write the folder, and with --set-context the context and kubeconfig."""
    a = inv.args
    if not _NAME.match(a.cluster):
        raise CliError(f"--cluster: {a.cluster!r} is not a valid name")
    masters, workers = _hosts("--master", a.master), _hosts("--worker", a.worker)
    if not masters:
        raise CliError("--master: at least one master is needed")
    if set(masters) & set(workers):
        raise CliError(f"--worker: {sorted(set(masters) & set(workers))[0]} is also a master")
    if (a.out / "ca.crt").exists():
        raise CliError(
            f"--out: {a.out} already holds a cluster's credentials; remove it to issue anew "
            "(new certificates mean reprovisioning every host)"
        )
    admin = hostpki.issue(a.out, a.cluster, masters, workers, list(masters.values()))
    inv.out(f"Credentials of {len(masters) + len(workers)} hosts in {a.out}/<host>/")
    if a.set_context:
        servers = [f"{ip}:{API_PORT}" for ip in masters.values()]
        cfg = configfile.load()
        user = f"{a.cluster}-admin"
        cfg.clusters[a.cluster] = servers
        cfg.authorities[a.cluster] = admin.ca
        cfg.certificates[user] = (admin.cert, admin.key)
        cfg.contexts[a.cluster] = configfile.Context(a.cluster, a.cluster, "default", user)
        cfg.current_context = a.cluster
        configfile.save(cfg)
        first = next(iter(masters.values()))
        path = kubeconfig.write(
            a.cluster,
            f"https://{first}:{API_HTTP_PORT}",
            ca=admin.ca,
            cert=admin.cert,
            key=admin.key,
        )
        inv.out(f'Context "{a.cluster}" is now current; kubectl: KUBECONFIG={path}')
    return 0
