"""The wording helpers of validation/errors.py that many kinds share."""

from __future__ import annotations

import pytest

from client.names import is_dns1123_label
from master.apiserver.validation.errors import Errors


@pytest.mark.parametrize(
    ("value", "detail", "expected"),
    [
        pytest.param("web", "", [], id="a valid value adds nothing"),
        pytest.param("", "", ["spec.name: Required value"], id="empty is required"),
        pytest.param(
            "",
            "can not be empty",
            ["spec.name: Required value: can not be empty"],
            id="empty with the caller's detail",
        ),
        pytest.param(
            "Web_1",
            "",
            [f'spec.name: Invalid value: "Web_1": {m}' for m in is_dns1123_label("Web_1")],
            id="a malformed value gets one Invalid per message",
        ),
    ],
)
def test_syntax(value: str, detail: str, expected: list[str]) -> None:
    errs = Errors()
    errs.syntax("spec.name", value, is_dns1123_label, detail=detail)
    assert [f"{e.path}: {e.detail}" for e in errs] == expected
