"""Running `tug` in-process against a real API server, with its own config and streams."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli.tugrun import Result, run_tug

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
        args = [*argv, "--server", apiserver.endpoint] if server else list(argv)
        return await run_tug(*args, stdin=stdin)

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
