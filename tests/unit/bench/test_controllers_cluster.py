"""bench.controllers_cluster's cluster leaves no temporary directory behind, whether the
benchmark ends or fails, and stops its servers even when a step of the clean-up fails.

etcd, the API server process and the API client are stand-ins that record what is
stopped; the directory is made under the test's own temporary directory.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

# Imported by name, as in test_run.py: mypy sees bench/ as top-level scripts.
controllers_cluster: Any = importlib.import_module("bench.controllers_cluster")


class Server:
    """etcd or the API server process: records that it was stopped."""

    def __init__(self, name: str, stopped: list[str]) -> None:
        self.name = name
        self.stopped = stopped
        self.endpoint = "127.0.0.1:1"
        self.endpoints = [self.endpoint]

    def stop(self) -> None:
        self.stopped.append(self.name)


class Api:
    """The API client, never connected."""

    def __init__(self, endpoints: Sequence[str]) -> None:
        self.endpoints = endpoints

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def stopped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """What the benchmark cluster stopped, in order; its directory goes under tmp_path."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    names: list[str] = []

    class ApiServerProcess:
        @staticmethod
        def start(*args: Any, **kwargs: Any) -> Server:
            return Server("apiserver", names)

    monkeypatch.setattr(controllers_cluster, "start_etcd", lambda _n: Server("etcd", names))
    monkeypatch.setattr(controllers_cluster, "ApiServerProcess", ApiServerProcess)
    monkeypatch.setattr(controllers_cluster, "ApiClient", Api)
    return names


def bench_directories(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("tugboat-bench-*"))


async def test_the_kubelets_directory_is_removed_when_the_benchmark_ends(
    stopped: list[str], tmp_path: Path
) -> None:
    async with controllers_cluster.bench_cluster() as bench:
        (bench.components.root / "node-0" / "pods").mkdir(parents=True)
        assert bench_directories(tmp_path) == [bench.components.root]

    assert bench_directories(tmp_path) == []
    assert stopped == ["apiserver", "etcd"]


async def test_the_kubelets_directory_is_removed_when_the_benchmark_fails(
    stopped: list[str], tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="the benchmark failed"):
        async with controllers_cluster.bench_cluster() as bench:
            (bench.components.root / "node-0").mkdir()
            raise RuntimeError("the benchmark failed")

    assert bench_directories(tmp_path) == []
    assert stopped == ["apiserver", "etcd"]


async def test_components_that_fail_to_stop_still_leave_no_directory_and_no_server(
    stopped: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stuck(self: Any) -> None:
        raise TimeoutError("a component would not stop")

    monkeypatch.setattr(controllers_cluster.Components, "stop", stuck)

    with pytest.raises(TimeoutError, match="would not stop"):
        async with controllers_cluster.bench_cluster():
            pass

    assert bench_directories(tmp_path) == []
    assert stopped == ["apiserver", "etcd"]
