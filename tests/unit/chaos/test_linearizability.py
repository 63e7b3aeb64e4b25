"""The linearizability checker on histories whose verdict is known by hand."""

from __future__ import annotations

import itertools
import random

from tests.chaos.history import Kind, Op, Outcome
from tests.chaos.linearizability import check, cut, linearizable

_ids = itertools.count()


def op(
    kind: Kind,
    invoke: float,
    complete: float | None,
    outcome: Outcome = Outcome.OK,
    *,
    key: str = "k",
    value: str | None = None,
    expect: str | None = None,
    output: str | None = None,
    process: int = 0,
) -> Op:
    if complete is None:
        outcome = Outcome.UNKNOWN
    return Op(
        id=next(_ids),
        process=process,
        kind=kind,
        key=key,
        invoke=invoke,
        complete=complete,
        outcome=outcome,
        value=value,
        expect=expect,
        output=output,
    )


def create(t0: float, t1: float | None, value: str, outcome: Outcome = Outcome.OK) -> Op:
    return op(Kind.CREATE, t0, t1, outcome, value=value)


def get(t0: float, t1: float, output: str | None) -> Op:
    outcome = Outcome.NOT_FOUND if output is None else Outcome.OK
    return op(Kind.GET, t0, t1, outcome, output=output)


def update(
    t0: float, t1: float | None, expect: str, value: str, outcome: Outcome = Outcome.OK
) -> Op:
    return op(Kind.UPDATE, t0, t1, outcome, expect=expect, value=value)


def delete(t0: float, t1: float | None, output: str | None = None) -> Op:
    outcome = Outcome.NOT_FOUND if output is None else Outcome.OK
    return op(Kind.DELETE, t0, t1, outcome, output=output)


def test_a_sequential_history_that_follows_the_register_is_linearizable():
    history = [
        get(0, 1, None),
        create(2, 3, "a"),
        get(4, 5, "a"),
        update(6, 7, "a", "b"),
        update(8, 9, "a", "c", Outcome.CONFLICT),
        get(10, 11, "b"),
        delete(12, 13, "b"),
        delete(14, 15),
        get(16, 17, None),
    ]
    assert linearizable(history)
    assert check(history) == []


def test_a_read_that_misses_an_acknowledged_write_is_not_linearizable():
    assert not linearizable([create(0, 1, "a"), get(2, 3, None)])


def test_concurrent_operations_may_take_effect_in_either_order():
    # The read overlaps the create, so it may see it or not; both are fine.
    assert linearizable([create(0, 5, "a"), get(1, 2, "a")])
    assert linearizable([create(0, 5, "a"), get(1, 2, None)])


def test_two_readers_cannot_see_a_write_undone():
    # Once one read has returned "a", a later read (invoked after) cannot see it absent.
    history = [create(0, 10, "a"), get(1, 2, "a"), get(3, 4, None)]
    assert not linearizable(history)


def test_a_conflict_means_nothing_was_written():
    history = [
        create(0, 1, "a"),
        update(2, 3, "a", "b", Outcome.CONFLICT),
        get(4, 5, "b"),
    ]
    assert not linearizable(history)


def test_a_conflict_needs_the_value_to_have_moved_on():
    assert not linearizable([create(0, 1, "a"), update(2, 3, "a", "b", Outcome.CONFLICT)])


def test_a_compare_and_set_from_a_stale_value_cannot_succeed():
    history = [create(0, 1, "a"), update(2, 3, "a", "b"), update(4, 5, "a", "c")]
    assert not linearizable(history)


def test_two_creates_of_one_key_cannot_both_succeed():
    history = [create(0, 5, "a"), create(1, 6, "b")]
    assert not linearizable(history)
    history = [create(0, 5, "a"), create(1, 6, "b", Outcome.EXISTS), get(7, 8, "a")]
    assert linearizable(history)


def test_a_timed_out_write_may_have_happened_or_not():
    applied = [create(0, None, "a"), get(5, 6, "a")]
    never = [create(0, None, "a"), get(5, 6, None)]
    assert linearizable(applied)
    assert linearizable(never)


def test_a_timed_out_write_cannot_take_effect_before_it_was_invoked():
    history = [get(0, 1, "a"), create(2, None, "a")]
    assert not linearizable(history)


def test_a_timed_out_write_cannot_flicker():
    # Seen, then unseen, then seen again: a write happens once, if at all.
    history = [
        create(0, 1, "a"),
        update(2, None, "a", "b"),
        get(3, 4, "b"),
        get(5, 6, "a"),
    ]
    assert not linearizable(history)


def test_a_delete_returns_what_it_removed():
    assert linearizable([create(0, 1, "a"), delete(2, 3, "a")])
    assert not linearizable([create(0, 1, "a"), delete(2, 3, "z")])


def test_lists_are_split_into_reads_of_every_key():
    listing = Op(
        id=next(_ids),
        process=1,
        kind=Kind.LIST,
        key="*",
        invoke=2,
        complete=3,
        outcome=Outcome.OK,
        observed={"k": "a", "j": None},
    )
    fine = [create(0, 1, "a"), listing]
    assert check(fine) == []
    j = op(Kind.CREATE, 0, 1, key="j", value="x")
    violations = check([create(0, 1, "a"), j, listing])
    assert [v.key for v in violations] == ["j"]


def test_a_violation_names_the_operation_no_order_explains_and_its_window():
    history = [
        create(0, 1, "a"),
        update(2, 3, "a", "b"),
        get(4, 5, "b"),
        get(6, 7, "b"),
        get(8, 9, "a"),  # the value went back: nothing can explain this read
        get(10, 11, "b"),
        get(12, 13, "b"),
    ]
    [violation] = check(history)
    assert violation.culprit is history[4]
    assert violation.window[-1] is history[4]
    assert history[5] not in violation.window and history[6] not in violation.window
    assert "no linear order explains" in str(violation)


def test_cutting_a_history_turns_running_writes_into_unknown_ones_and_drops_running_reads():
    history = [create(0, 4, "a"), get(1, 5, "a"), get(6, 7, "a")]
    at_three = cut(history, 3)
    assert [(o.kind, o.outcome) for o in at_three] == [(Kind.CREATE, Outcome.UNKNOWN)]


def _register_run(seed: int) -> list[Op]:
    """A history made by running random concurrent ops against a real register: each op
    takes effect at a random instant inside its own interval, so it is linearizable."""
    rng = random.Random(seed)
    value: str | None = None
    ops: list[Op] = []
    events = []
    for i in range(60):
        start = rng.uniform(0, 100)
        end = start + rng.uniform(0.1, 8)
        events.append((rng.uniform(start, end), start, end, i))
    events.sort()
    for _, start, end, i in events:
        kind = rng.choice([Kind.CREATE, Kind.GET, Kind.UPDATE, Kind.DELETE])
        if kind is Kind.GET:
            ops.append(get(start, end, value))
        elif kind is Kind.CREATE:
            outcome = Outcome.OK if value is None else Outcome.EXISTS
            ops.append(create(start, end, f"v{i}", outcome))
            value = f"v{i}" if value is None else value
        elif kind is Kind.UPDATE:
            expect = value if value is not None and rng.random() < 0.7 else f"v{i - 1}"
            if value is None:
                ops.append(update(start, end, expect, f"v{i}", Outcome.NOT_FOUND))
            elif expect == value:
                ops.append(update(start, end, expect, f"v{i}"))
                value = f"v{i}"
            else:
                ops.append(update(start, end, expect, f"v{i}", Outcome.CONFLICT))
        else:
            ops.append(delete(start, end, value))
            value = None
    return ops


def test_random_histories_of_a_real_register_are_linearizable_and_stay_so_with_timeouts():
    for seed in range(30):
        history = _register_run(seed)
        assert linearizable(history), seed
        # Forget some writes' outcomes: still explainable.
        rng = random.Random(seed)
        for o in history:
            if o.kind is not Kind.GET and rng.random() < 0.2:
                o.complete, o.outcome = None, Outcome.UNKNOWN
        assert check(history) == [], seed


def test_a_random_history_with_one_read_corrupted_is_caught():
    caught = 0
    for seed in range(30):
        history = _register_run(seed)
        reads = [o for o in history if o.kind is Kind.GET and o.output is not None]
        if not reads:
            continue
        reads[len(reads) // 2].output = "never-written"
        assert not linearizable(history), seed
        caught += 1
    assert caught > 20
