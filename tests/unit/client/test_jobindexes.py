"""Job completion indexes as text: Kubernetes' "1,3-5" form, parsed and written."""

from __future__ import annotations

import pytest

from client import jobindexes


@pytest.mark.parametrize(
    ("indexes", "text"),
    [
        (set(), ""),
        ({0}, "0"),
        ({1, 2}, "1,2"),
        ({0, 1, 2, 5, 7, 8, 9}, "0-2,5,7-9"),
        ({3, 4, 6}, "3,4,6"),
    ],
)
def test_indexes_are_written_as_kubernetes_writes_them_and_read_back(
    indexes: set[int], text: str
) -> None:
    assert jobindexes.format(indexes) == text
    assert jobindexes.parse(text, 10) == indexes


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("0,x", 'cannot convert string to integer for index: "x"'),
        ("2,1", "non-increasing order, previous: 2, current: 1"),
        ("3-3", "non-increasing order, previous: 3, current: 3"),
        ("0-2,2", "non-increasing order, previous: 2, current: 2"),
        (
            "1-2-3",
            'the fragment "1-2-3" violates the requirement that an index interval '
            "can have at most two parts separated by '-'",
        ),
        ("4-10", 'too large index: "10"'),
        ("-1", 'cannot convert string to integer for index: ""'),
    ],
)
def test_a_malformed_or_out_of_range_index_list_is_refused_in_kubernetes_words(
    text: str, error: str
) -> None:
    with pytest.raises(jobindexes.IndexesError) as raised:
        jobindexes.parse(text, 10)
    assert str(raised.value) == error
