"""Periodic compaction keeps about `retention` seconds of history."""

from __future__ import annotations

from master.apiserver.compaction import Compactor
from master.apiserver.etcd import Etcd


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_compactor_compacts_to_the_revision_seen_a_retention_ago(etcd_clean):
    etcd = Etcd([etcd_clean.endpoint])
    clock = FakeClock()
    compactor = Compactor(etcd, interval=60, retention=300, clock=clock)
    try:
        await etcd.txn([], [_put(b"/t/a", b"1")], [])
        await compactor.step()
        first = compactor._seen[0][1]
        clock.now += 120
        await etcd.txn([], [_put(b"/t/a", b"2")], [])
        await compactor.step()
        assert compactor.compacted == 0  # nothing old enough yet
        clock.now += 200
        await etcd.txn([], [_put(b"/t/a", b"3")], [])
        await compactor.step()
        assert compactor.compacted == first
    finally:
        await etcd.close()


def _put(key: bytes, value: bytes):
    from master.apiserver.etcd import op_put

    return op_put(key, value)
