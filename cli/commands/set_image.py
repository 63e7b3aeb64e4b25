"""`tug set image deploy/NAME CONTAINER=IMAGE...` (`*=IMAGE` for every container)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands._workloads import label, modify, target
from cli.errors import CliError
from cli.invocation import Invocation

WITH_TEMPLATES = ("deployments", "replicasets", "daemonsets", "statefulsets", "jobs", "pods")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug set image`."""
    p = sub.add_parser("set", parents=[common], help="change a field of a workload")
    what = p.add_subparsers(dest="what", metavar="FIELD", required=True)
    img = what.add_parser("image", parents=[common], help="container images")
    img.add_argument("args", nargs="+", metavar="TYPE/NAME CONTAINER=IMAGE")
    img.set_defaults(func=run)


def _split(words: list[str]) -> tuple[list[str], dict[str, str]]:
    resource = [w for w in words if "=" not in w]
    images: dict[str, str] = {}
    for w in words:
        if "=" in w:
            container, _, image = w.partition("=")
            if not container or not image:
                raise CliError(f'"{w}": expected CONTAINER=IMAGE')
            images[container] = image
    if not images:
        raise CliError("at least one image update is required (CONTAINER=IMAGE)")
    return resource, images


async def run(inv: Invocation) -> int:
    """Point containers at new images."""
    words, images = _split(inv.args.args)
    kind, name = target(words, WITH_TEMPLATES)

    def change(obj: Any) -> bool:
        spec = obj.spec if kind.resource == "pods" else obj.spec.template.spec
        containers = [*spec.init_containers, *spec.containers]
        changed = False
        for wanted, image in images.items():
            found = [c for c in containers if wanted in ("*", c.name)]
            if not found:
                raise CliError(f'unable to find container named "{wanted}"')
            for c in found:
                if c.image != image:
                    c.image = image
                    changed = True
        return changed

    async with inv.client() as api:
        _, changed = await modify(api, kind, inv.namespace(), name, change)
    inv.out(f"{label(kind, name)} image updated" if changed else f"{label(kind, name)} unchanged")
    return 0
