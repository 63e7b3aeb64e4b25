"""`tug get`: objects as kubectl's tables, or as yaml, json or names; `-w` then follows."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from cli import targets
from cli.errors import CliError
from cli.invocation import Invocation
from cli.printers import structured, table
from cli.targets import Target
from client import errors
from client.api import ApiClient
from client.kinds import Object
from client.printing import age, columns
from client.timeouts import within

OUTPUTS = ("wide", "yaml", "json", "name")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug get`."""
    p = sub.add_parser("get", parents=[common], help="list objects")
    p.add_argument("resources", nargs="*", metavar="KIND [NAME...]")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-l", "--selector", default="", help="label selector")
    p.add_argument("--field-selector", default="")
    p.add_argument("-o", "--output", default="", choices=OUTPUTS)
    p.add_argument("-w", "--watch", action="store_true")
    p.add_argument("--show-labels", action="store_true")
    p.add_argument("--no-headers", action="store_true")
    p.set_defaults(func=run)


async def fetch(
    inv: Invocation, api: ApiClient, target: Target, namespace: str
) -> tuple[list[Object], str, bool]:
    """The target's objects, the list's resourceVersion, and whether any name was missing."""
    ns = namespace if target.kind.namespaced else ""
    if not target.names:
        page = await api.list(
            target.kind.resource,
            ns,
            label_selector=inv.args.selector,
            field_selector=inv.args.field_selector,
        )
        return list(page.items), page.resource_version, False
    found: list[Object] = []
    missing = False
    for name in target.names:
        try:
            found.append(await api.get(target.kind.resource, ns, name))
        except errors.NotFound:
            inv.err(f'error: {target.kind.resource}{_group(target)} "{name}" not found')
            missing = True
    return found, "", missing


def _group(target: Target) -> str:
    return f".{target.kind.group}" if target.kind.group else ""


def _table_lines(
    inv: Invocation, target: Target, objects: list[Object], qualified: bool
) -> tuple[list[list[str]], list[list[str]]]:
    wide = inv.args.output == "wide"
    all_ns = bool(inv.args.all_namespaces) and target.kind.namespaced
    at = age.now()
    head = columns.header(target.kind.resource, wide=wide, all_namespaces=all_ns)
    if inv.args.show_labels:
        head.append("LABELS")
    rows = []
    for obj in columns.ordered(target.kind.resource, objects):
        name = structured.name(obj) if qualified else None
        cells = columns.row(
            target.kind.resource, obj, at, wide=wide, all_namespaces=all_ns, name=name
        )
        if inv.args.show_labels:
            cells.append(columns.labels_cell(obj))
        rows.append(cells)
    return [head], rows


def _nothing_found(inv: Invocation, found: list[tuple[Target, list[Object]]]) -> str:
    namespaced = any(t.kind.namespaced for t, _ in found)
    if inv.args.all_namespaces or not namespaced:
        return "No resources found"
    return f"No resources found in {inv.namespace()} namespace."


async def run(inv: Invocation) -> int:
    """List or get, print, and follow with `-w`."""
    wanted, qualified = await targets.parse_learning(inv.args.resources, inv.client)
    if inv.args.watch and (len(wanted) > 1):
        raise CliError("you may only specify a single resource type when watching")
    namespace = "" if inv.args.all_namespaces else inv.namespace()
    fmt = inv.args.output
    failed = False
    found: list[tuple[Target, list[Object]]] = []
    version = ""
    async with inv.client() as api:
        for target in wanted:
            objects, version, missing = await fetch(inv, api, target, namespace)
            failed = failed or missing
            found.append((target, objects))
        everything = [o for _, objs in found for o in objs]
        by_name = len(wanted) == 1 and len(wanted[0].names) == 1
        if fmt in ("yaml", "json"):
            if everything or not by_name:
                inv.stdout.write(structured.document(everything, single=by_name, fmt=fmt))
        elif fmt == "name":
            for obj in everything:
                inv.out(structured.name(obj))
        elif everything:
            first = True
            for target, objects in found:
                if not objects:
                    continue
                head, rows = _table_lines(inv, target, objects, qualified)
                if not first:
                    inv.out()
                first = False
                for line in table.format_table(None if inv.args.no_headers else head[0], rows):
                    inv.out(line)
        if not everything and not failed:
            inv.err(_nothing_found(inv, found))
        if inv.args.watch:
            await _follow(inv, api, wanted[0], namespace, version, qualified, found[0][1])
    return 1 if failed else 0


async def _follow(
    inv: Invocation,
    api: ApiClient,
    target: Target,
    namespace: str,
    version: str,
    qualified: bool,
    shown: list[Object],
) -> None:
    """Print one line per watch event until interrupted or `--request-timeout` ends it."""
    ns = namespace if target.kind.namespaced else ""
    field_selector = inv.args.field_selector
    if target.names:
        field_selector = ",".join(
            p for p in (field_selector, f"metadata.name={target.names[0]}") if p
        )
    head, rows = _table_lines(inv, target, shown, qualified)
    widths = table.column_widths(head + rows)
    # With nothing listed, the header waits for the first event, as kubectl's does.
    header_due = not shown and not inv.args.no_headers
    inv.stdout.flush()
    limit = inv.timeout() or None

    async def stream() -> None:
        nonlocal widths, header_due
        events = api.watch(
            target.kind.resource,
            ns,
            resource_version=version,
            label_selector=inv.args.selector,
            field_selector=field_selector,
        )
        async for event in events:
            if event.object is None or event.type == "BOOKMARK":
                continue
            if inv.args.output in ("yaml", "json"):
                inv.stdout.write(
                    structured.document([event.object], single=True, fmt=inv.args.output)
                )
            elif inv.args.output == "name":
                inv.out(structured.name(event.object))
            else:
                _, new_rows = _table_lines(inv, target, [event.object], qualified)
                if header_due:
                    widths = table.column_widths(head + new_rows)
                    inv.out(table.format_row(widths, head[0]))
                    header_due = False
                inv.out(table.format_row(widths, new_rows[0]))
            inv.stdout.flush()

    with contextlib.suppress(TimeoutError):
        await within(stream(), timeout=limit)
