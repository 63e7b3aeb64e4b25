"""Aligned columns, as kubectl's tabwriter prints them: left-aligned, three spaces apart."""

from __future__ import annotations

from collections.abc import Sequence

PADDING = 3


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """The width of each column: its widest cell."""
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell))
    return widths


def format_row(widths: Sequence[int], row: Sequence[str]) -> str:
    """One line: every cell but the last padded to its column's width plus PADDING."""
    cells = []
    for i, cell in enumerate(row):
        last = i == len(row) - 1
        width = widths[i] if i < len(widths) else len(cell)
        cells.append(cell if last else cell.ljust(width + PADDING))
    return "".join(cells).rstrip()


def format_table(header: Sequence[str] | None, rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a table, the header first when given."""
    all_rows = ([list(header)] if header else []) + [list(r) for r in rows]
    widths = column_widths(all_rows)
    return [format_row(widths, r) for r in all_rows]
