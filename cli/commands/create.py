"""`tug create namespace NAME` (the imperative creator kubectl users reach for first)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.errors import CliError
from cli.invocation import Invocation
from client import errors, kinds


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug create`."""
    p = sub.add_parser("create", parents=[common], help="create an object")
    what = p.add_subparsers(dest="what", metavar="KIND", required=True)
    ns = what.add_parser("namespace", aliases=["ns"], parents=[common], help="a namespace")
    ns.add_argument("name")
    ns.set_defaults(func=create_namespace)


async def create_namespace(inv: Invocation) -> int:
    """Create a namespace: `namespace/NAME created`."""
    kind = kinds.by_resource("namespaces")
    obj = kind.new()
    obj.metadata.name = inv.args.name
    async with inv.client() as api:
        try:
            await api.create(obj)
        except errors.AlreadyExists:
            raise CliError(f'namespaces "{inv.args.name}" already exists') from None
        except errors.Invalid as e:
            raise CliError(e.message) from None
    inv.out(f"namespace/{inv.args.name} created")
    return 0
