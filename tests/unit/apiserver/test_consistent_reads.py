"""Which etcd releases a consistent list may be served from the watch cache on: those
whose progress notifications come after every event they cover (etcd-io/etcd#15220),
the releases Kubernetes requires for its consistent reads from cache."""

from __future__ import annotations

import pytest

from master.apiserver.watchcache import progress_is_ordered


@pytest.mark.parametrize(
    ("version", "ordered"),
    [
        ("3.4.23", False),
        ("3.4.30", False),
        ("3.4.31", True),
        ("3.5.12", False),
        ("3.5.13", True),
        ("3.5.17-rc.0", True),
        ("3.6.0", True),
        ("3.3.27", False),
        ("", False),
        ("not a version", False),
    ],
)
def test_only_etcd_releases_with_ordered_progress_notifications_qualify(version, ordered):
    assert progress_is_ordered(version) is ordered
