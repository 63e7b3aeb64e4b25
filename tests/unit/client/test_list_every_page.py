"""list_every_page: the one paging loop that ApiClient.list_all and the informers share."""

from __future__ import annotations

from client.api import ObjectList, list_every_page
from proto import core_pb2


class PagedLister:
    """Serves `count` config maps `limit` at a time; each page at a newer revision."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.calls: list[dict[str, object]] = []

    async def list(
        self,
        resource: str,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
    ) -> ObjectList:
        self.calls.append(
            {
                "resource": resource,
                "namespace": namespace,
                "label_selector": label_selector,
                "field_selector": field_selector,
                "limit": limit,
            }
        )
        start = int(continue_token or 0)
        end = min(start + limit, self.count)
        items = [core_pb2.ConfigMap() for _ in range(start, end)]
        for i, item in zip(range(start, end), items, strict=True):
            item.metadata.name = f"cm{i}"
        return ObjectList(
            items=list(items),
            resource_version=str(100 + len(self.calls)),
            continue_token=str(end) if end < self.count else "",
        )


async def test_every_page_is_joined_at_the_first_pages_revision() -> None:
    lister = PagedLister(5)
    listed = await list_every_page(
        lister, "configmaps", "ns", label_selector="a=b", field_selector="", page_size=2
    )
    assert [o.metadata.name for o in listed.items] == ["cm0", "cm1", "cm2", "cm3", "cm4"]
    assert listed.resource_version == "101"
    assert listed.continue_token == ""
    asked = {
        "resource": "configmaps",
        "namespace": "ns",
        "label_selector": "a=b",
        "field_selector": "",
        "limit": 2,
    }
    assert lister.calls == [asked] * 3


async def test_one_short_page_is_one_call() -> None:
    lister = PagedLister(1)
    listed = await list_every_page(
        lister, "configmaps", "", label_selector="", field_selector="", page_size=500
    )
    assert len(listed.items) == 1 and len(lister.calls) == 1
