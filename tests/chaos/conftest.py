"""One HA cluster per chaos module: three masters, three etcd members, three Docker nodes.

Each test kills things and restores them before it ends (in `finally`), so the next test
starts from a whole cluster; the module's finalizer stops every process and removes
every container, also when a test fails half-way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import pytest

from client.api import ApiClient
from tests.chaos.helpers import restore
from tests.support.cluster import Cluster, running_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """`tug up --masters 3 --etcd-members 3 --nodes 3`, torn down at the end."""
    home = tmp_path_factory.mktemp("chaos") / "tug-home"
    with running_cluster(home, name="chaos", etcd_members=3) as c:
        yield c


@pytest.fixture
async def api(cluster: Cluster) -> AsyncIterator[ApiClient]:
    """A client of all three API servers; every process killed in the test restarted after."""
    async with cluster.client() as client:
        try:
            yield client
        finally:
            await restore(cluster)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    """When a chaos test fails, add what `tug get` shows of pods, endpoints and nodes."""
    outcome = yield
    report = outcome.get_result()
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.when == "call" and report.failed and isinstance(cluster, Cluster):
        seen = cluster.tug("get", "pods,endpoints,nodes", "-A", "-o", "wide", timeout=30)
        report.sections.append(("tug get pods,endpoints,nodes -A -o wide", seen.out + seen.err))
