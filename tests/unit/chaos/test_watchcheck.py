"""The watch checker: a watcher's stitched stream against the committed changes."""

from __future__ import annotations

from tests.chaos.history import Kind, Op, Outcome
from tests.chaos.watchcheck import Event, Stream, check_reference, check_stream

REFERENCE = [
    Event(10, "ADDED", "a", "a1"),
    Event(11, "ADDED", "b", "b1"),
    Event(12, "MODIFIED", "a", "a2"),
    Event(13, "DELETED", "b", "b1"),
    Event(14, "ADDED", "b", "b2"),
]


def write(kind: Kind, key: str, value: str, version: int, outcome: Outcome = Outcome.OK) -> Op:
    return Op(
        id=version,
        process=0,
        kind=kind,
        key=key,
        invoke=0,
        complete=1,
        value=value,
        outcome=outcome,
        version=version,
    )


def deletion(key: str, output: str) -> Op:
    return Op(
        id=99, process=0, kind=Kind.DELETE, key=key, invoke=0, complete=1,
        outcome=Outcome.OK, output=output,
    )  # fmt: skip


HISTORY = [
    write(Kind.CREATE, "a", "a1", 10),
    write(Kind.CREATE, "b", "b1", 11),
    write(Kind.UPDATE, "a", "a2", 12),
    deletion("b", "b1"),
    write(Kind.CREATE, "b", "b2", 14),
]


def test_a_stream_equal_to_the_changes_after_its_start_passes():
    assert check_stream(Stream("w", 11, REFERENCE[2:]), REFERENCE) == []
    assert check_stream(Stream("w", 9, REFERENCE[:3]), REFERENCE) == []


def test_a_gap_a_duplicate_a_reordering_and_a_phantom_are_each_named():
    gap = check_stream(Stream("w", 9, [REFERENCE[0], REFERENCE[2]]), REFERENCE)
    assert gap == [f"w: missed {REFERENCE[1]}"]
    dup = check_stream(Stream("w", 9, [REFERENCE[0], REFERENCE[0]]), REFERENCE)
    assert dup == ["w: revision 10 after 10, a duplicate"]
    swapped = check_stream(Stream("w", 9, [REFERENCE[1], REFERENCE[0]]), REFERENCE)
    assert swapped == ["w: revision 10 after 11, out of order"]
    phantom = Event(12, "MODIFIED", "a", "a9")
    wrong = check_stream(Stream("w", 11, [phantom]), REFERENCE)
    assert f"w: heard {phantom}, which was never committed" in wrong
    assert f"w: missed {REFERENCE[2]}" in wrong


def test_the_reference_agrees_with_the_acknowledged_writes():
    assert check_reference(REFERENCE, HISTORY) == []


def test_an_acknowledged_write_missing_from_the_changes_is_named():
    lost = [e for e in REFERENCE if e.revision != 12]
    [problem] = check_reference(lost, HISTORY)
    assert problem.startswith("acknowledged #12") and "got None" in problem


def test_an_acknowledged_delete_missing_from_the_changes_is_named():
    kept = [e for e in REFERENCE if e.type != "DELETED"]
    problems = check_reference(kept, HISTORY)
    assert any("delete(b" in p for p in problems)


def test_a_change_no_client_wrote_or_out_of_the_register_life_is_named():
    unknown_value = [*REFERENCE, Event(15, "MODIFIED", "a", "zz")]
    assert check_reference(unknown_value, HISTORY) == [
        f"{unknown_value[-1]} holds a value no client wrote"
    ]
    added_twice = [*REFERENCE, Event(15, "ADDED", "a", "a1")]
    assert check_reference(added_twice, HISTORY) == [f"{added_twice[-1]} while the key exists"]


def test_a_write_whose_outcome_is_unknown_may_appear():
    maybe = write(Kind.UPDATE, "a", "a3", 0, Outcome.UNKNOWN)
    reference = [*REFERENCE, Event(15, "MODIFIED", "a", "a3")]
    assert check_reference(reference, [*HISTORY, maybe]) == []
