"""Reading `tug get` tables and `tug describe` pages the way a person reads them."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOCS = EXAMPLES / "kubernetes-docs"


def rows(table: str) -> list[dict[str, str]]:
    """The rows of a kubectl-style table, keyed by column header."""
    lines = [line for line in table.splitlines() if line.strip()]
    if not lines or lines[0].startswith("No resources"):
        return []
    header = re.split(r"\s{2,}", lines[0].strip())
    return [
        dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=False)) for line in lines[1:]
    ]


def row(table: str, name: str) -> dict[str, str]:
    """The row whose NAME is `name`."""
    for r in rows(table):
        if r.get("NAME") == name:
            return r
    raise AssertionError(f"no row {name!r} in:\n{table}")


def http_get(url: str, timeout: float = 3.0) -> str | None:
    """The body of a GET, or None when nothing answers (a user's curl)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: bytes = response.read()
            return body.decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return None
