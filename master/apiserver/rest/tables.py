"""`meta.k8s.io/v1` Table responses: the columns kubectl prints, computed by the server.

kubectl asks for a Table (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) and
prints whatever columns the server sends, wide ones (priority 1) only with `-o wide`.
The cells come from client/printing/columns.py, the same code `tug get` prints with, so
both tools show the same table. Each row carries the object's metadata (or the whole
object with `includeObject=Object`), which kubectl uses for `--show-labels`, sorting and
the `kind/name` prefix of `get all`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from client.kinds import Kind, Object
from client.printing import age, columns
from master.apiserver.rest import customobjects

MEDIA = "application/json;as=Table;v=v1;g=meta.k8s.io"


def wants_table(accept: Iterable[str]) -> bool:
    """Whether the Accept header asks for a v1 Table before plain JSON."""
    for media in ",".join(accept).split(","):
        params = {p.strip() for p in media.split(";")[1:]}
        if "as=Table" in params:
            if "v=v1" in params and "g=meta.k8s.io" in params:
                return True
            continue
        if media.split(";")[0].strip() in ("application/json", "*/*"):
            return False
    return False


def _definitions(kind: Kind) -> list[dict[str, Any]]:
    wide = columns.header(kind.resource, wide=True, all_namespaces=False)
    narrow = columns.header(kind.resource, wide=False, all_namespaces=False)
    found = []
    for n, name in enumerate(wide):
        found.append(
            {
                "name": name.title() if name.isupper() else name,
                "type": "string",
                "format": "name" if name == "NAME" else "",
                "description": "",
                "priority": 0 if n < len(narrow) else 1,
            }
        )
    return found


def _row_object(obj: Object, include: str, encode: Any) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        encoded: dict[str, Any] = encode(obj)
        return encoded
    full = encode(obj)
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": full.get("metadata", {}),
    }


def table(
    kind: Kind,
    objects: Iterable[Object],
    *,
    resource_version: str,
    include: str,
    encode: Any,
    with_columns: bool = True,
    continue_token: str = "",
) -> dict[str, Any]:
    """The Table of `objects` (kubectl's columns for the kind, wide ones at priority 1)."""
    at = age.now()
    rows = []
    custom = customobjects.is_custom(kind)
    for obj in objects if custom else columns.ordered(kind.resource, objects):
        row: dict[str, Any] = {
            "cells": customobjects.row_cells(kind, obj, at)
            if custom
            else columns.row(kind.resource, obj, at, wide=True, all_namespaces=False)
        }
        found = _row_object(obj, include, encode)
        if found is not None:
            row["object"] = found
        rows.append(row)
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": (
            (customobjects.column_definitions(kind) if custom else _definitions(kind))
            if with_columns
            else []
        ),
        "rows": rows,
    }
