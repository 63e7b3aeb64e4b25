"""Sets of Job completion indexes in Kubernetes' text form, "1,3-5,7".

An Indexed Job's status.completedIndexes and status.failedIndexes, and a success
policy's succeededIndexes, are written this way: ascending, disjoint intervals joined by
commas. The API server parses what a user wrote (and names what is wrong) and the Job
controller parses and writes the status, so both use this one module, which needs
nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable


class IndexesError(ValueError):
    """The text is not an ascending list of indexes and intervals below the limit."""


def parse(text: str, limit: int) -> set[int]:
    """The indexes `text` names; each must be below `limit` (the Job's completions), and
    the intervals must ascend without overlap. The errors are Kubernetes' words."""
    out: set[int] = set()
    if not text:
        return out
    last = -1
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) > 2:
            raise IndexesError(
                f'the fragment "{part}" violates the requirement that an index interval '
                "can have at most two parts separated by '-'"
            )
        low = _index(bounds[0], limit)
        if low <= last:
            raise IndexesError(f"non-increasing order, previous: {last}, current: {low}")
        high = low
        if len(bounds) == 2:
            high = _index(bounds[1], limit)
            if high <= low:
                raise IndexesError(f"non-increasing order, previous: {low}, current: {high}")
        out.update(range(low, high + 1))
        last = high
    return out


def _index(text: str, limit: int) -> int:
    if not text.isdigit():
        raise IndexesError(f'cannot convert string to integer for index: "{text}"')
    value = int(text)
    if value >= limit:
        raise IndexesError(f'too large index: "{text}"')
    return value


def format(indexes: Iterable[int]) -> str:
    """`indexes` as Kubernetes writes them: a run of three or more as "a-b", a pair as
    "a,b"."""
    runs: list[list[int]] = []
    for i in sorted(set(indexes)):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(a) if a == b else f"{a},{b}" if b == a + 1 else f"{a}-{b}" for a, b in runs)
