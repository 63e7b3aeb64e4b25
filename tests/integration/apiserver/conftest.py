"""What the API server's integration tests share: the real kubectl, pointed at the test's
in-process API server over plain HTTP, and a gRPC client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.api import ApiClient
from master.apiserver.server import ApiServer
from tests.integration.apiserver.kubectl import Kubectl, write_kubeconfig


@pytest.fixture
async def kubectl(apiserver: ApiServer, tmp_path: Path) -> AsyncIterator[Kubectl]:
    assert apiserver.status is not None
    server = f"http://127.0.0.1:{apiserver.status.port}"
    yield Kubectl(write_kubeconfig(tmp_path / "kubeconfig", server), tmp_path / "cache")


@pytest.fixture
async def api(apiserver: ApiServer) -> AsyncIterator[ApiClient]:
    client = ApiClient([apiserver.endpoint])
    try:
        yield client
    finally:
        await client.close()
