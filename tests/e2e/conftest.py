"""One real cluster (3 masters, etcd, 3 Docker nodes) shared by every e2e test.

The tests drive it only through the `tug` CLI, as a user would; each test removes
what it created, so the next one starts from an empty default namespace.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cluster import Cluster, running_cluster


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """`tug up` with three masters and three nodes; `tug down` and container removal after."""
    with running_cluster(tmp_path_factory.mktemp("e2e") / "tug-home", name="e2e") as c:
        yield c
