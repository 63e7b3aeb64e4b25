"""`tug config view|get-contexts|current-context|use-context|kubeconfig-path`: the client
config file, and the kubeconfig `tug up` wrote for kubectl."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from cli import config as configfile
from cli.cluster import kubeconfig
from cli.errors import CliError
from cli.invocation import Invocation
from cli.printers.table import format_table


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug config` and its subcommands."""
    p = sub.add_parser("config", parents=[common], help="view or change the client config")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    viewer = verbs.add_parser("view", parents=[common], help="print the config")
    viewer.add_argument(
        "--kubeconfig",
        action="store_true",
        help="print the current (or --context) cluster's kubeconfig for kubectl instead",
    )
    viewer.add_argument(
        "--raw", action="store_true", help="with --kubeconfig: keep tokens and keys, unredacted"
    )
    viewer.set_defaults(func=view)
    verbs.add_parser("get-contexts", parents=[common], help="list contexts").set_defaults(
        func=get_contexts
    )
    verbs.add_parser("current-context", parents=[common], help="the current context").set_defaults(
        func=current_context
    )
    path = verbs.add_parser(
        "kubeconfig-path",
        parents=[common],
        help="where the current (or --context) cluster's kubeconfig for kubectl is",
    )
    path.set_defaults(func=kubeconfig_path)
    use = verbs.add_parser("use-context", parents=[common], help="switch the current context")
    use.add_argument("name")
    use.set_defaults(func=use_context)


async def view(inv: Invocation) -> int:
    """The config as YAML; with --kubeconfig the cluster's kubeconfig, secrets redacted
    unless --raw (as `kubectl config view`)."""
    if not getattr(inv.args, "kubeconfig", False):
        inv.stdout.write(yaml.safe_dump(inv.config.to_dict(), sort_keys=False))
        return 0
    found = yaml.safe_load(_kubeconfig(inv).read_text())
    if not inv.args.raw:
        for user in found.get("users") or []:
            for key in _SECRETS:
                if key in (user.get("user") or {}):
                    user["user"][key] = "REDACTED"
    inv.stdout.write(yaml.safe_dump(found, sort_keys=False))
    return 0


_SECRETS = ("token", "client-key-data", "password")


def _kubeconfig(inv: Invocation) -> Path:
    cfg = inv.config
    name = getattr(inv.args, "context", None) or cfg.current_context
    if not name or name not in cfg.contexts:
        raise CliError("no current context: run `tug up` or `tug config use-context NAME`")
    path = kubeconfig.path_for(cfg.contexts[name].cluster)
    if not path.exists():
        raise CliError(f'cluster "{name}" has no kubeconfig at {path} (made by `tug up`)')
    return path


async def kubeconfig_path(inv: Invocation) -> int:
    """The kubeconfig `tug up` wrote for the context's cluster (for KUBECONFIG=...)."""
    inv.out(str(_kubeconfig(inv)))
    return 0


async def get_contexts(inv: Invocation) -> int:
    """kubectl's table: CURRENT NAME CLUSTER AUTHINFO NAMESPACE."""
    cfg = inv.config
    rows = [
        ["*" if c.name == cfg.current_context else "", c.name, c.cluster, "", c.namespace]
        for c in cfg.contexts.values()
    ]
    for line in format_table(["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"], rows):
        inv.out(line)
    return 0


async def current_context(inv: Invocation) -> int:
    """The current context's name."""
    if not inv.config.current_context:
        raise CliError("current-context is not set")
    inv.out(inv.config.current_context)
    return 0


async def use_context(inv: Invocation) -> int:
    """Make a context current: `Switched to context "NAME".`"""
    cfg = inv.config
    if inv.args.name not in cfg.contexts:
        raise CliError(f'no context exists with the name: "{inv.args.name}"')
    cfg.current_context = inv.args.name
    configfile.save(cfg)
    inv.out(f'Switched to context "{inv.args.name}".')
    return 0
