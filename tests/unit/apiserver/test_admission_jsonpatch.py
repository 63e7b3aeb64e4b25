"""JSON Patch as mutating webhooks send it: RFC 6902's operations and JSON Pointer's
escapes, and a patch that cannot apply named by its operation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from master.apiserver.admission.jsonpatch import PatchError, apply_patch

DOC: dict[str, Any] = {
    "metadata": {"labels": {"a/b": "1"}},
    "spec": {"containers": [{"name": "x"}]},
}


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ({"op": "add", "path": "/metadata/labels/c", "value": "2"},
         {"a/b": "1", "c": "2"}),
        ({"op": "remove", "path": "/metadata/labels/a~1b"}, {}),
        ({"op": "replace", "path": "/metadata/labels/a~1b", "value": "9"}, {"a/b": "9"}),
        ({"op": "copy", "from": "/metadata/labels/a~1b", "path": "/metadata/labels/d"},
         {"a/b": "1", "d": "1"}),
        ({"op": "move", "from": "/metadata/labels/a~1b", "path": "/metadata/labels/e"},
         {"e": "1"}),
        ({"op": "test", "path": "/metadata/labels/a~1b", "value": "1"}, {"a/b": "1"}),
    ],
)  # fmt: skip
def test_each_operation_changes_a_copy_of_the_document(
    op: dict[str, Any], expected: dict[str, str]
) -> None:
    patched = apply_patch(DOC, [op])
    assert patched["metadata"]["labels"] == expected
    assert DOC["metadata"]["labels"] == {"a/b": "1"}


def test_arrays_take_an_index_or_the_end() -> None:
    patched = apply_patch(
        DOC,
        [
            {"op": "add", "path": "/spec/containers/-", "value": {"name": "z"}},
            {"op": "add", "path": "/spec/containers/0", "value": {"name": "w"}},
            {"op": "replace", "path": "/spec/containers/1/name", "value": "y"},
        ],
    )
    assert [c["name"] for c in patched["spec"]["containers"]] == ["w", "y", "z"]


@pytest.mark.parametrize(
    ("patch", "why"),
    [
        ([{"op": "remove", "path": "/metadata/no"}], 'operation 0 (remove): "no" does not exist'),
        ([{"op": "test", "path": "/metadata/labels/a~1b", "value": "2"}], "test failed"),
        ([{"op": "add", "path": "/spec/containers/5", "value": {}}], "out of range"),
        ([{"op": "add", "path": "spec", "value": 1}], 'must start with "/"'),
        ([{"op": "explode", "path": "/spec"}], 'unknown operation "explode"'),
        ([{"op": "replace", "path": "/spec"}], '"value" is required'),
        ({"op": "add"}, "must be an array"),
    ],
)  # fmt: skip
def test_a_patch_that_cannot_apply_says_which_operation_and_why(patch: Any, why: str) -> None:
    with pytest.raises(PatchError, match=re.escape(why)):
        apply_patch(DOC, patch)
