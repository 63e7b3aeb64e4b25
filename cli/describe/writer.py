"""The page a describer writes: indented `Key:  value` lines aligned like kubectl's.

kubectl describes through a tabwriter: consecutive lines with a tab in them form a
block whose columns align, and a section title (a line without a value) ends the
block. Writer keeps each line as its cells and renders with the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping

from client.printing.age import parse_time

PADDING = 2
NONE = "<none>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def timestamp(text: str) -> str:
    """kubectl's describe time format: `Mon, 23 Nov 2026 13:45:16 +0000`."""
    when = parse_time(text)
    return when.strftime("%a, %d %b %Y %H:%M:%S %z") if when else NONE


class Writer:
    """Collects lines; `render()` aligns them."""

    def __init__(self) -> None:
        self.lines: list[list[str]] = []

    def line(self, level: int, *cells: str) -> None:
        """A line at an indentation level: `Key:` then values in aligned columns."""
        first = "  " * level + (cells[0] if cells else "")
        self.lines.append([first, *cells[1:]])

    def field(self, level: int, key: str, value: object) -> None:
        """`Key:  value`, `<none>` for an empty value."""
        text = str(value) if value not in (None, "") else NONE
        self.line(level, f"{key}:", text)

    def mapping(self, level: int, key: str, values: Mapping[str, str], sep: str = "=") -> None:
        """`Labels:  a=b` with one pair per line, kubectl's multi-line maps."""
        items = [(k, v) for k, v in sorted(values.items()) if k != LAST_APPLIED]
        if not items:
            self.field(level, key, NONE)
            return
        for i, (k, v) in enumerate(items):
            self.line(level, f"{key}:" if i == 0 else "", f"{k}{sep}{v}")

    def title(self, level: int, text: str) -> None:
        """A section title (ends the alignment block)."""
        self.lines.append(["  " * level + text])

    def table(self, level: int, header: list[str], rows: list[list[str]]) -> None:
        """A table under a section title, with kubectl's `----` underline."""
        self.line(level, *header)
        self.line(level, *["-" * len(h) for h in header])
        for row in rows:
            self.line(level, *row)

    def render(self) -> str:
        """The page's text."""
        out: list[str] = []
        block: list[list[str]] = []

        def flush() -> None:
            widths: list[int] = []
            for cells in block:
                for i, cell in enumerate(cells[:-1]):
                    if i == len(widths):
                        widths.append(0)
                    widths[i] = max(widths[i], len(cell))
            for cells in block:
                parts = [c.ljust(widths[i] + PADDING) for i, c in enumerate(cells[:-1])]
                out.append(("".join(parts) + cells[-1]).rstrip())
            block.clear()

        for cells in self.lines:
            if len(cells) > 1:
                block.append(cells)
            else:
                flush()
                out.append(cells[0].rstrip())
        flush()
        return "\n".join(out) + "\n"
