"""What the API server's integration tests share: the real kubectl, pointed at the test's
in-process API server over plain HTTP, a gRPC client of it, and an API server with tokens
and RBAC (`admin-token` in system:masters, `eddie-token` in no group), and an HTTPS
webhook of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client.api import ApiClient
from master.apiserver.server import ApiServer
from tests.integration.apiserver.kubectl import Kubectl, write_kubeconfig
from tests.support.apiserver import running_apiserver
from tests.support.webhook_server import WebhookServer


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


@pytest.fixture
async def secured(etcd_clean: Any, tmp_path: Path) -> AsyncIterator[ApiServer]:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\neddie-token,eddie,eddie,""\n')
    async with running_apiserver(
        etcd_clean.endpoints, token_auth_file=str(tokens), authorization_modes=("RBAC",)
    ) as server:
        yield server


@pytest.fixture
async def hooks() -> AsyncIterator[WebhookServer]:
    """The test's own HTTPS webhook (admission or conversion reviews)."""
    server = WebhookServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
