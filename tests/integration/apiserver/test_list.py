"""List: namespaces, selectors, pages read at one revision, and the list's resourceVersion."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from client.api import ApiClient
from client.kinds import by_resource, decode
from master.apiserver import objects
from master.apiserver.listing import list_objects
from master.apiserver.selection import parse
from proto import api_pb2
from tests.integration.apiserver.helpers import (
    configmap,
    create,
    delete,
    list_names,
    pod,
    stub_for,
)

PODS = by_resource("pods")


async def _list(stub: Any, resource: str = "configmaps", **kw: Any) -> Any:
    return await stub.List(api_pb2.ListRequest(resource=resource, **kw))


def _token(resp: Any) -> str:
    return str(getattr(resp, "continue"))


def _names(resource: str, resp: Any) -> list[str]:
    return [decode(resource, item).metadata.name for item in resp.items]


async def test_a_list_carries_the_stores_revision_and_items_their_own(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("a"))
        last = await create(stub, configmap("b"))
        resp = await _list(stub, namespace="default")
    assert _names("configmaps", resp) == ["a", "b"]
    assert int(resp.resource_version) >= int(last.metadata.resource_version)
    assert decode("configmaps", resp.items[1]).metadata.resource_version == (
        last.metadata.resource_version
    )


async def test_a_list_is_filtered_by_namespace_or_spans_all(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("d"))
        await create(stub, configmap("s", namespace="kube-system"))
        assert await list_names(stub, "configmaps", "default") == ["d"]
        assert await list_names(stub, "configmaps", "kube-system") == ["s"]
        assert sorted(await list_names(stub, "configmaps")) == ["d", "s"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["web-1", "web-2"]),
        ("app==web,tier=front", ["web-1"]),
        ("app!=web", ["db", "plain"]),
        ("app in (web,db)", ["db", "web-1", "web-2"]),
        ("app notin (web)", ["db", "plain"]),
        ("tier", ["web-1"]),
        ("!tier", ["db", "plain", "web-2"]),
    ],
    ids=["equals", "and", "not-equals", "in", "notin", "exists", "does-not-exist"],
)
async def test_a_label_selector_picks_the_matching_objects(apiserver, selector, expected):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, pod("web-1", app="web", tier="front"))
        await create(stub, pod("web-2", app="web"))
        await create(stub, pod("db", app="db"))
        await create(stub, pod("plain"))
        assert await list_names(stub, "pods", "default", label_selector=selector) == expected


async def test_field_selectors_pick_by_name_node_and_phase(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, pod("a", node="n1"))
        await create(stub, pod("b", node="n2"))
        assert await list_names(stub, "pods", field_selector="spec.nodeName=n1") == ["a"]
        assert await list_names(stub, "pods", field_selector="metadata.name!=a") == ["b"]
        assert await list_names(stub, "pods", field_selector="status.phase=Pending") == ["a", "b"]
        both = "metadata.namespace=default,spec.nodeName=n2"
        assert await list_names(stub, "pods", field_selector=both) == ["b"]


async def test_a_nodes_list_from_etcd_decodes_only_the_pods_that_can_be_on_it(
    apiserver, monkeypatch
):
    async with stub_for(apiserver.endpoint) as stub:
        for name, node in [("a", "node-1"), ("b", "node-1"), ("c", "node-10"), ("d", "node-2")]:
            await create(stub, pod(name, node=node))
        await create(stub, pod("waiting"))
        decoded: list[str] = []
        real = objects.decode_stored

        def counting(kind: Any, value: bytes, revision: int) -> Any:
            obj = real(kind, value, revision)
            decoded.append(obj.metadata.name)
            return obj

        monkeypatch.setattr(objects, "decode_stored", counting)
        page = await list_objects(apiserver.etcd, PODS, "", parse("", "spec.nodeName=node-1"))
    assert [p.metadata.name for p in page.items] == ["a", "b"]
    # node-10's pod holds the bytes "node-1" too: decoded, then judged out.
    assert sorted(decoded) == ["a", "b", "c"]


async def test_a_malformed_selector_is_invalid_naming_it(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        for kw, name in (
            ({"label_selector": "app in (web"}, "labelSelector"),
            ({"field_selector": "spec.image=x"}, "fieldSelector"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await _list(stub, "pods", **kw)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert name in str(e.value.details())


async def test_pages_are_read_at_the_first_pages_revision(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        for i in range(5):
            await create(stub, configmap(f"c{i}"))
        first = await _list(stub, namespace="default", limit=2)
        assert _names("configmaps", first) == ["c0", "c1"]
        assert first.remaining_item_count == 3
        # Changes after the first page do not show in later pages.
        await delete(stub, "configmaps", "default", "c3")
        await create(stub, configmap("c5"))
        second = await _list(stub, namespace="default", limit=2, **{"continue": _token(first)})
        third = await _list(stub, namespace="default", limit=2, **{"continue": _token(second)})
    assert _names("configmaps", second) == ["c2", "c3"]
    assert _names("configmaps", third) == ["c4"]
    assert _token(third) == ""
    assert first.resource_version == second.resource_version == third.resource_version


async def test_a_page_with_a_selector_still_holds_limit_matches(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        for i in range(6):
            await create(stub, pod(f"p{i}", parity="even" if i % 2 == 0 else "odd"))
        first = await _list(stub, "pods", label_selector="parity=even", limit=2)
        rest = await _list(
            stub, "pods", label_selector="parity=even", limit=2, **{"continue": _token(first)}
        )
    assert _names("pods", first) == ["p0", "p2"]
    assert _names("pods", rest) == ["p4"]


async def test_a_continue_token_of_a_compacted_revision_is_out_of_range(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        for i in range(3):
            await create(stub, configmap(f"c{i}"))
        first = await _list(stub, namespace="default", limit=1)
        await create(stub, configmap("later"))
        await apiserver.compactor.compact_now()
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _list(stub, namespace="default", limit=1, **{"continue": _token(first)})
    assert e.value.code() == grpc.StatusCode.OUT_OF_RANGE


async def test_a_foreign_continue_token_is_invalid(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("a"))
        await create(stub, configmap("b"))
        first = await _list(stub, namespace="default", limit=1)
        for token in ("garbage", _token(first)):
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await _list(stub, "pods", namespace="default", **{"continue": token})
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_list_larger_than_grpcs_default_message_reads_etcd_in_one_piece(apiserver):
    # Five ConfigMaps of 900 KiB: 4.4 MiB in one etcd range, over gRPC's 4 MiB default.
    async with stub_for(apiserver.endpoint) as stub:
        for i in range(5):
            await create(stub, configmap(f"big-{i}", blob="x" * (900 * 1024)))
    async with ApiClient(apiserver.endpoint) as api:  # the client takes 64 MiB answers
        page = await api.list("configmaps", "default")
    assert len(page.items) == 5
