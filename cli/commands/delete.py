"""`tug delete -f FILE | KIND NAME...`: delete objects, printing `pod "x" deleted`."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from cli import sources, targets
from cli.errors import CliError
from cli.invocation import Invocation
from client import customkinds, errors
from client.api import ApiClient
from client.flags import seconds
from client.kinds import Kind
from client.manifests import ManifestError

CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan"}
WAIT_LIMIT = 60.0
"""How long `--wait` waits for an object to be gone when no --timeout is given."""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug delete`."""
    p = sub.add_parser("delete", parents=[common], help="delete objects")
    p.add_argument("resources", nargs="*", metavar="KIND NAME...")
    p.add_argument("-f", "--filename", action="append", default=[])
    p.add_argument("-l", "--selector", default="", help="delete every object matching")
    p.add_argument("--all", action="store_true", help="delete every object of the kind")
    p.add_argument(
        "--cascade",
        default="background",
        choices=[*CASCADE, "true", "false"],
        help="what happens to dependents (true=background, false=orphan)",
    )
    p.add_argument("--grace-period", type=int, default=-1)
    p.add_argument("--now", action="store_true", help="same as --grace-period=1")
    p.add_argument("--force", action="store_true", help="with --grace-period=0: skip waiting")
    p.add_argument("--wait", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--timeout", type=seconds, default=0.0, help="seconds --wait waits")
    p.add_argument("--ignore-not-found", action="store_true")
    p.set_defaults(func=run)


def _policy(cascade: str) -> str:
    return {"true": "Background", "false": "Orphan"}.get(cascade) or CASCADE[cascade]


def _grace(args: argparse.Namespace) -> int | None:
    if args.now:
        return 1
    if args.grace_period >= 0:
        return int(args.grace_period)
    return None


async def _wait_gone(api: ApiClient, kind: Kind, ns: str, name: str, limit: float) -> bool:
    deadline = time.monotonic() + limit
    delay = 0.05
    while time.monotonic() < deadline:
        try:
            await api.get(kind.resource, ns, name)
        except errors.NotFound:
            return True
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)
    return False


async def run(inv: Invocation) -> int:
    """Delete what the files or arguments name."""
    args = inv.args
    if args.filename and args.resources:
        raise CliError("cannot use -f together with KIND NAME arguments")
    wanted: list[tuple[Kind, str, str]] = []
    failed = False
    if args.filename:
        for loaded in sources.load(args.filename, inv.stdin):
            if isinstance(loaded, ManifestError):
                inv.err(f"error: {loaded}")
                failed = True
                continue
            kind = loaded.kind
            ns = (loaded.obj.metadata.namespace or inv.namespace()) if kind.namespaced else ""
            wanted.append((kind, ns, loaded.obj.metadata.name))
    async with inv.client() as api:
        if args.resources:
            try:
                parsed, _ = targets.parse(args.resources)
            except CliError:
                await customkinds.load(api)  # perhaps a custom kind: learn the CRDs
                parsed, _ = targets.parse(args.resources)
            for target in parsed:
                ns = inv.namespace() if target.kind.namespaced else ""
                if target.names:
                    wanted.extend((target.kind, ns, n) for n in target.names)
                elif args.all or args.selector:
                    page = await api.list(target.kind.resource, ns, label_selector=args.selector)
                    wanted.extend((target.kind, ns, o.metadata.name) for o in page.items)
                else:
                    raise CliError(
                        "resource(s) were provided, but no name was specified "
                        "(use --all or -l to delete many)"
                    )
        elif not args.filename:
            raise CliError("you must provide one or more resources by argument or filename")
        if not wanted and not failed and (args.all or args.selector):
            inv.out("No resources found")
        deleted: list[tuple[Kind, str, str]] = []
        for kind, ns, name in wanted:
            try:
                await api.delete(
                    kind.resource,
                    ns,
                    name,
                    grace_period_seconds=_grace(args),
                    propagation_policy=_policy(args.cascade),
                )
            except errors.NotFound:
                if not args.ignore_not_found:
                    group = f".{kind.group}" if kind.group else ""
                    inv.err(f'error: {kind.resource}{group} "{name}" not found')
                    failed = True
                continue
            deleted.append((kind, ns, name))
            inv.out(f'{kind.qualified} "{name}" deleted')
        if args.wait:
            limit = args.timeout or WAIT_LIMIT
            for kind, ns, name in deleted:
                if not await _wait_gone(api, kind, ns, name, limit):
                    inv.err(f'error: timed out waiting for {kind.qualified} "{name}" to be gone')
                    failed = True
    return 1 if failed else 0
