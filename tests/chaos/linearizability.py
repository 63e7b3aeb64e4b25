"""Is a history of register operations linearizable? Wing and Gong's search with Lowe's
memo, as porcupine does it, partitioned by key.

Linearizability is local (Herlihy and Wing): a history is linearizable exactly when each
key's sub-history is, so each key is searched alone, which keeps every search small. A
list is a read of every key at once; split into one read per key it promises less than
the list did (each read may be placed on its own), so the split can miss a violation
but never invent one.

The search walks the key's calls and returns in time order. At a call it tries to place
that operation next in the linear order (the model must accept its outcome from the
current state); at a return whose call is not yet placed it backtracks, since that
operation had to be placed before anything invoked after it returned. Lowe's memo of
(placed operations, state) pairs already explored keeps the search from repeating
itself. An operation with an UNKNOWN outcome never returns: it may be placed anywhere
after its call, and placing it last means it never happened as far as anyone saw. Reads
with an unknown outcome tell nothing and are dropped.

When a key fails, the smallest failing window is found by bisecting on time: the
history cut at time T keeps what completed by T, and turns what was still running into
UNKNOWN writes. Cutting never makes a linearizable history fail, so the earliest
failing T is well defined, and the operation completing at T is the one no order can
explain; the window printed is it, what ran beside it, and a few operations before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from tests.chaos.history import Kind, Op, Outcome

State = str | None
"""A register's value; None while the key does not exist."""

CONTEXT_BEFORE = 4
"""Operations completed before the failing window's, printed with it."""


def step(state: State, op: Op) -> tuple[bool, State]:
    """Whether `op` with its recorded outcome can happen in `state`, and the state after."""
    unknown = op.outcome is Outcome.UNKNOWN
    if op.kind is Kind.GET:
        return (state is None if op.outcome is Outcome.NOT_FOUND else state == op.output), state
    if op.kind is Kind.CREATE:
        if unknown:
            return True, op.value if state is None else state
        if op.outcome is Outcome.EXISTS:
            return state is not None, state
        return state is None, op.value
    if op.kind is Kind.UPDATE:
        if unknown:
            return True, op.value if state == op.expect else state
        if op.outcome is Outcome.CONFLICT:
            return state is not None and state != op.expect, state
        if op.outcome is Outcome.NOT_FOUND:
            return state is None, state
        return state == op.expect, op.value
    if op.kind is Kind.DELETE:
        if unknown:
            return True, None
        if op.outcome is Outcome.NOT_FOUND:
            return state is None, state
        return state is not None and (op.output is None or op.output == state), None
    raise ValueError(f"no register semantics for {op.kind}")


def by_key(ops: Iterable[Op]) -> dict[str, list[Op]]:
    """Each key's operations; a list becomes one get per key it read."""
    keys: dict[str, list[Op]] = {}
    for op in ops:
        if op.outcome is None:
            raise ValueError(f"operation still running: {op.describe()}")
        if op.kind is Kind.LIST:
            if op.outcome is not Outcome.OK:
                continue
            for key, value in op.observed.items():
                outcome = Outcome.NOT_FOUND if value is None else Outcome.OK
                read = replace(op, kind=Kind.GET, key=key, outcome=outcome, output=value)
                keys.setdefault(key, []).append(read)
            continue
        if op.kind is Kind.GET and op.outcome is Outcome.UNKNOWN:
            continue
        keys.setdefault(op.key, []).append(op)
    return keys


_SENTINEL = Op(id=-1, process=-1, kind=Kind.GET, key="", invoke=-math.inf)


@dataclass
class _Entry:
    op: Op
    index: int
    call: bool
    match: _Entry | None = None
    prev: _Entry | None = None
    next: _Entry | None = None


def _entries(ops: list[Op]) -> _Entry:
    """The calls and returns in time order as a doubly linked list behind a sentinel."""
    events: list[tuple[float, int, _Entry]] = []
    for index, op in enumerate(ops):
        call = _Entry(op, index, call=True)
        ret = _Entry(op, index, call=False)
        call.match = ret
        end = math.inf if op.complete is None else op.complete
        # At equal times calls sort first: touching operations count as concurrent.
        events.append((op.invoke, 0, call))
        events.append((end, 1, ret))
    events.sort(key=lambda e: (e[0], e[1], e[2].index))
    head = _Entry(_SENTINEL, -1, call=False)
    last = head
    for _, _, entry in events:
        last.next, entry.prev = entry, last
        last = entry
    return head


def _lift(entry: _Entry) -> None:
    for e in (entry, entry.match):
        assert e is not None and e.prev is not None
        e.prev.next = e.next
        if e.next is not None:
            e.next.prev = e.prev


def _unlift(entry: _Entry) -> None:
    for e in (entry.match, entry):
        assert e is not None and e.prev is not None
        e.prev.next = e
        if e.next is not None:
            e.next.prev = e


def linearizable(ops: list[Op], initial: State = None) -> bool:
    """Whether one key's operations have a linear order the register model accepts."""
    head = _entries(ops)
    state: State = initial
    placed = 0
    memo: set[tuple[int, State]] = set()
    stack: list[tuple[_Entry, State]] = []
    entry = head.next
    while head.next is not None:
        assert entry is not None
        if entry.call:
            ok, after = step(state, entry.op)
            marked = placed | (1 << entry.index)
            if ok and (marked, after) not in memo:
                memo.add((marked, after))
                stack.append((entry, state))
                state, placed = after, marked
                _lift(entry)
                entry = head.next
            else:
                entry = entry.next
        else:
            if not stack:
                return False
            entry, state = stack.pop()
            placed &= ~(1 << entry.index)
            _unlift(entry)
            entry = entry.next
    return True


def cut(ops: list[Op], at: float) -> list[Op]:
    """The history as it stood at time `at`: what completed, and what ran as UNKNOWN."""
    kept: list[Op] = []
    for op in ops:
        if op.invoke > at:
            continue
        if op.complete is not None and op.complete <= at:
            kept.append(op)
        elif op.kind is not Kind.GET:
            kept.append(replace(op, outcome=Outcome.UNKNOWN, complete=None, output=None))
    return kept


@dataclass
class Violation:
    key: str
    culprit: Op
    window: list[Op]

    def __str__(self) -> str:
        lines = [
            f"key {self.key}: no linear order explains {self.culprit.describe()}",
            "the smallest window that fails (completed, and running beside it):",
        ]
        lines += [f"  {op.describe()}" for op in self.window]
        return "\n".join(lines)


def smallest_window(key: str, ops: list[Op]) -> Violation:
    """The earliest cut of a failing key's history that fails, and the ops around it."""
    ends = sorted(op.complete for op in ops if op.complete is not None)
    low, high = 0, len(ends) - 1
    while low < high:  # invariant: the cut at ends[high] fails
        middle = (low + high) // 2
        if linearizable(cut(ops, ends[middle])):
            low = middle + 1
        else:
            high = middle
    at = ends[high]
    culprit = next(op for op in ops if op.complete == at)
    prefix = sorted(cut(ops, at), key=lambda op: op.invoke)
    beside = [op for op in prefix if op.complete is None or op.complete >= culprit.invoke]
    before = [op for op in prefix if op.complete is not None and op.complete < culprit.invoke]
    before.sort(key=lambda op: op.complete or 0.0)
    window = before[-CONTEXT_BEFORE:] + [op for op in beside if op.id != culprit.id] + [culprit]
    return Violation(key, culprit, window)


def check(ops: Iterable[Op]) -> list[Violation]:
    """Every key whose operations are not linearizable, with its smallest failing window."""
    return [
        smallest_window(key, key_ops)
        for key, key_ops in sorted(by_key(ops).items())
        if not linearizable(key_ops)
    ]
