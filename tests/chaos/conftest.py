"""One HA cluster per chaos module: three masters, three etcd members, three Docker nodes.

Each test kills things and restores them before it ends (in `finally`), so the next test
starts from a whole cluster; the module's finalizer stops every process and removes
every container, also when a test fails half-way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

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
    async with ApiClient(cluster.servers) as client:
        try:
            yield client
        finally:
            await restore(cluster)
