"""Where a GET is answered from, by its resourceVersion: the watch cache for "0" and for a
revision it has reached, etcd for "" and for one it has not, and nothing for one that is
not a number.

The cache exists so that a thousand kubelets' heartbeat reads of their Node cost etcd
nothing; a GET that asks for the newest must still see etcd's, never the cache's.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from client import errors
from client.kinds import by_resource
from master.apiserver.cacher import Cacher
from master.apiserver.objects import encode_for_store, object_key
from master.apiserver.registry import Registry
from master.apiserver.service import get_version
from master.apiserver.watchcache import WatchCache
from proto import core_pb2

NODES = by_resource("nodes")


def node(name: str, revision: int, ready: str = "True") -> core_pb2.Node:
    found = core_pb2.Node(api_version="v1", kind="Node")
    found.metadata.name = name
    found.metadata.resource_version = str(revision)
    found.status.conditions.add(type="Ready", status=ready)
    return found


class Etcd:
    """The registry's etcd, holding one object; it counts the reads it is asked for."""

    closing = False

    def __init__(self, stored: core_pb2.Node, revision: int) -> None:
        self.kv = SimpleNamespace(value=encode_for_store(stored), mod_revision=revision)
        self.reads: list[bytes] = []

    async def get(self, key: bytes) -> tuple[Any, int]:
        self.reads.append(key)
        return (self.kv if key == object_key(NODES, "", "n1") else None), self.kv.mod_revision


def registry_with_cache(
    etcd: Etcd, cached: list[core_pb2.Node], revision: int, *, ready: bool = True
) -> tuple[Registry, Cacher]:
    """A registry whose nodes cache has listed up to `revision` holding `cached` (never
    started: what it holds is what the test put there)."""
    cache = WatchCache(etcd)  # type: ignore[arg-type]
    cacher = cache.cachers["nodes"] = Cacher(etcd, NODES)  # type: ignore[arg-type]
    cacher.store = {object_key(NODES, "", n.metadata.name): n for n in cached}
    cacher.revision = revision
    if ready:
        cacher.ready.set()
    return Registry(etcd, cache=cache), cacher  # type: ignore[arg-type]


async def test_a_get_at_resource_version_0_is_answered_by_the_cache_without_reading_etcd():
    etcd = Etcd(node("n1", 9, ready="Unknown"), 9)
    registry, _ = registry_with_cache(etcd, [node("n1", 7)], 8)
    got: Any = await registry.get(NODES, "", "n1", "0")
    assert etcd.reads == []
    assert got.metadata.resource_version == "7"  # any version: the cache's own
    assert got.status.conditions[0].status == "True"


async def test_what_the_cache_answers_is_a_copy_the_caller_may_change():
    etcd = Etcd(node("n1", 7), 7)
    registry, cacher = registry_with_cache(etcd, [node("n1", 7)], 7)
    got: Any = await registry.get(NODES, "", "n1", "0")
    got.metadata.labels["changed"] = "by the caller"
    assert "changed" not in cacher.store[object_key(NODES, "", "n1")].metadata.labels


async def test_a_name_the_ready_cache_lacks_is_not_found_without_reading_etcd():
    etcd = Etcd(node("n1", 7), 7)
    registry, _ = registry_with_cache(etcd, [node("n1", 7)], 7)
    with pytest.raises(errors.NotFound, match='nodes "n2" not found'):
        await registry.get(NODES, "", "n2", "0")
    assert etcd.reads == []


async def test_a_get_at_empty_resource_version_reads_the_newest_from_etcd_even_when_cached():
    etcd = Etcd(node("n1", 9, ready="Unknown"), 9)
    registry, _ = registry_with_cache(etcd, [node("n1", 7)], 8)
    got: Any = await registry.get(NODES, "", "n1", "")
    assert etcd.reads == [object_key(NODES, "", "n1")]
    assert (got.metadata.resource_version, got.status.conditions[0].status) == ("9", "Unknown")


async def test_a_revision_the_cache_has_reached_is_served_by_it_and_a_later_one_by_etcd():
    etcd = Etcd(node("n1", 9), 9)
    registry, _ = registry_with_cache(etcd, [node("n1", 7)], 8)
    reached: Any = await registry.get(NODES, "", "n1", "8")
    assert (reached.metadata.resource_version, etcd.reads) == ("7", [])
    ahead: Any = await registry.get(NODES, "", "n1", "9")
    assert (ahead.metadata.resource_version, len(etcd.reads)) == ("9", 1)


async def test_a_get_at_0_reads_etcd_while_the_cache_has_not_listed_yet():
    etcd = Etcd(node("n1", 9), 9)
    registry, _ = registry_with_cache(etcd, [], 0, ready=False)
    got: Any = await registry.get(NODES, "", "n1", "0")
    assert (got.metadata.resource_version, len(etcd.reads)) == ("9", 1)


async def test_a_get_at_0_reads_etcd_when_the_watch_cache_is_turned_off():
    etcd = Etcd(node("n1", 9), 9)
    registry = Registry(etcd, cache=WatchCache(etcd, enabled=False))  # type: ignore[arg-type]
    got: Any = await registry.get(NODES, "", "n1", "0")
    assert (got.metadata.resource_version, len(etcd.reads)) == ("9", 1)


@pytest.mark.parametrize("version", ["", "0", "42"])
def test_empty_0_or_a_revision_is_a_resource_version_a_get_may_ask_for(version):
    assert get_version(version) == version


@pytest.mark.parametrize("version", ["x", "-1", "1.5", "²", " 1"])
def test_anything_else_is_invalid_naming_the_field(version):
    with pytest.raises(errors.Invalid) as refused:
        get_version(version)
    assert refused.value.message == f'resourceVersion: Invalid value: "{version}"'
