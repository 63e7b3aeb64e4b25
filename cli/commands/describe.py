"""`tug describe KIND [NAME...]`: a readable page per object, ending with its events."""

from __future__ import annotations

import argparse
from typing import Any

from cli import targets
from cli.describe.pages import page
from cli.invocation import Invocation
from client import errors
from client.kinds import Object


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug describe`."""
    p = sub.add_parser("describe", parents=[common], help="show details of objects")
    p.add_argument("resources", nargs="+", metavar="KIND [NAME...]")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-l", "--selector", default="", help="label selector")
    p.set_defaults(func=run)


async def run(inv: Invocation) -> int:
    """Describe the named objects, or every object of the kind that matches."""
    wanted, _ = await targets.parse_learning(inv.args.resources, inv.client)
    namespace = "" if inv.args.all_namespaces else inv.namespace()
    failed = False
    async with inv.client() as api:
        objects: list[Object] = []
        for target in wanted:
            ns = namespace if target.kind.namespaced else ""
            if not target.names:
                listed = await api.list(target.kind.resource, ns, label_selector=inv.args.selector)
                objects.extend(listed.items)
                continue
            for name in target.names:
                try:
                    objects.append(await api.get(target.kind.resource, ns, name))
                except errors.NotFound:
                    group = f".{target.kind.group}" if target.kind.group else ""
                    inv.err(f'error: {target.kind.resource}{group} "{name}" not found')
                    failed = True
        if not objects and not failed:
            where = "" if inv.args.all_namespaces else f" in {namespace} namespace"
            inv.err(f"No resources found{where}.")
        for i, obj in enumerate(objects):
            if i:
                inv.out()
            inv.stdout.write(await page(api, obj))
    return 1 if failed else 0
