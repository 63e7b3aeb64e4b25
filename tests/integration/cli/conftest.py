"""Running `tug` in-process against a real API server, with its own config and streams."""

from __future__ import annotations

import io
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.main import run


@dataclass
class Result:
    """What one `tug` run printed and returned."""

    code: int
    out: str
    err: str


Tug = Callable[..., Coroutine[Any, Any, Result]]


@pytest.fixture
def tug_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TUG_HOME and TUGCONFIG in a temporary directory: never the user's ~/.tug."""
    home = tmp_path / "tug-home"
    monkeypatch.setenv("TUG_HOME", str(home))
    monkeypatch.setenv("TUGCONFIG", str(home / "config"))
    return home


@pytest.fixture
def tug(apiserver: Any, tug_home: Path) -> Tug:
    """`await tug("get", "pods")`: the CLI against the test API server."""

    async def invoke(*argv: str, stdin: str = "", server: bool = True) -> Result:
        out, err = io.StringIO(), io.StringIO()
        args = [*argv, "--server", apiserver.endpoint] if server else list(argv)
        code = await run(args, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    return invoke


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a manifest file under a temporary directory; returns its path."""

    def writer(name: str, text: str) -> Path:
        path = tmp_path / "manifests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return writer
