"""Reading the CRDs again on a miss: a caller never settles for a read that began before it
asked, since that read may have missed the CRD the caller is looking for."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from client import customkinds, kinds
from master.apiserver.customresources import serving
from master.apiserver.listing import Page
from tests.support.crds import website_crd
from tests.support.waiting import eventually


class _ReadsOnDemand:
    """Stands in for list_objects: each read returns what etcd holds when it is released."""

    def __init__(self) -> None:
        self.stored: list[Any] = []
        self.reads = 0
        self.release = asyncio.Event()

    async def __call__(self, *_: Any, **__: Any) -> Page:
        self.reads += 1
        seen = list(self.stored)  # what the range sees: the state when it reached etcd
        await self.release.wait()
        return Page(items=seen)


@pytest.fixture
def etcd(monkeypatch: pytest.MonkeyPatch) -> Iterator[_ReadsOnDemand]:
    reads = _ReadsOnDemand()
    monkeypatch.setattr(serving, "list_objects", reads)
    yield reads
    for kind in kinds.dynamic_kinds():
        customkinds.stop(kind.resource)


def _served() -> set[str]:
    return {k.resource for k in kinds.dynamic_kinds()}


async def test_a_caller_arriving_mid_read_gets_a_later_read_that_sees_the_new_crd(
    etcd: _ReadsOnDemand,
) -> None:
    follower = serving.CustomResources(service=SimpleNamespace(etcd=None))
    early = asyncio.create_task(follower.refresh())
    await eventually(lambda: etcd.reads == 1, what="the early read at etcd, seeing no CRD")
    etcd.stored.append(website_crd())  # then the CRD is written and acknowledged
    late = asyncio.create_task(follower.refresh())
    also_late = asyncio.create_task(follower.refresh())
    etcd.release.set()
    await asyncio.gather(early, late, also_late)
    assert etcd.reads == 2, "the two late callers share one read, begun after they asked"
    assert "websites" in _served()


async def test_callers_arriving_together_share_one_read(etcd: _ReadsOnDemand) -> None:
    follower = serving.CustomResources(service=SimpleNamespace(etcd=None))
    etcd.stored.append(website_crd())
    etcd.release.set()
    await asyncio.gather(*(follower.refresh() for _ in range(5)))
    assert etcd.reads == 1
    assert "websites" in _served()
