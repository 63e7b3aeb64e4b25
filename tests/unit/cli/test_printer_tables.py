"""Tables align like kubectl's tabwriter: left-aligned columns three spaces apart."""

from __future__ import annotations

from cli.printers.table import format_table


def test_columns_are_as_wide_as_their_widest_cell_plus_three_spaces():
    lines = format_table(["NAME", "READY"], [["web-1", "1/1"], ["a", "0/1"]])
    assert lines == ["NAME    READY", "web-1   1/1", "a       0/1"]


def test_the_last_column_is_not_padded():
    lines = format_table(["NAME", "MESSAGE"], [["x", "short"], ["y", "a much longer message"]])
    assert all(line == line.rstrip() for line in lines)


def test_no_header_prints_only_rows():
    assert format_table(None, [["a", "b"]]) == ["a   b"]
