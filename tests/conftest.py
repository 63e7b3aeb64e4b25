"""Fixtures shared by every test folder: a real etcd, wiped between tests that ask."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aetcd
import pytest

from tests.support.etcd import EtcdCluster, start_etcd


@pytest.fixture(scope="session")
def etcd() -> Iterator[EtcdCluster]:
    """One real etcd member for the whole session; use `etcd_clean` for an empty keyspace."""
    cluster = start_etcd(1)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def etcd_clean(etcd: EtcdCluster) -> AsyncIterator[EtcdCluster]:
    """The session's etcd with every key deleted before the test."""
    host, port = etcd.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as c:
        await c.delete_range(b"\0", b"\0")
    yield etcd
