"""`tug get NAME` for a name no built-in kind has: the CLI learns the cluster's custom kinds
(its CRDs) and reads the name again, once; a name still unknown is kubectl's error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from cli import targets
from cli.errors import CliError
from client import customkinds
from tests.support.crds import website_crd


class _Cluster:
    def __init__(self, crds: list[Any]) -> None:
        self.items = crds
        self.lists = 0

    async def list_all(self, resource: str, namespace: str = "") -> Any:
        self.lists += 1
        return self

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Any]:
        yield self


async def test_an_unknown_name_is_looked_up_among_the_clusters_crds():
    cluster = _Cluster([website_crd()])
    try:
        wanted, many = await targets.parse_learning(["ws", "hello"], cluster.client)
        assert [(t.kind.kind, t.names) for t in wanted] == [("Website", ("hello",))]
        assert not many
        assert cluster.lists == 1
    finally:
        customkinds.stop("websites")


async def test_a_built_in_name_asks_the_cluster_nothing():
    cluster = _Cluster([])
    wanted, _ = await targets.parse_learning(["pods"], cluster.client)
    assert wanted[0].kind.resource == "pods"
    assert cluster.lists == 0


async def test_a_name_no_crd_has_either_is_kubectls_error():
    cluster = _Cluster([])
    with pytest.raises(CliError, match='the server doesn\'t have a resource type "gadgets"'):
        await targets.parse_learning(["gadgets"], cluster.client)
