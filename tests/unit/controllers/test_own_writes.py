"""The overlay of a controller's own writes over its informer's cache."""

from __future__ import annotations

from typing import Any

from master.controllers.own_writes import OwnWrites
from proto import core_pb2


def pv(name: str, revision: int, phase: str = "Pending", uid: str = "u1") -> Any:
    obj = core_pb2.PersistentVolume()
    obj.metadata.name, obj.metadata.uid = name, uid
    obj.metadata.resource_version = str(revision)
    obj.status.phase = phase
    return obj


def got(own: OwnWrites[Any], key: str) -> Any:
    found = own.get(key)
    assert found is not None
    return found


class Cache:
    def __init__(self, *objects: Any) -> None:
        self.objects = {o.metadata.name: o for o in objects}

    def get(self, key: str, *, copy: bool = True) -> Any:
        return self.objects.get(key)

    def list(self, *, copy: bool = True) -> list[Any]:
        return list(self.objects.values())


def test_a_write_newer_than_the_cache_is_what_get_and_list_return() -> None:
    cache = Cache(pv("a", 5), pv("b", 6))
    own = OwnWrites[Any](cache)
    own.wrote(pv("a", 9, "Available"))
    assert got(own, "a").status.phase == "Available"
    assert [v.status.phase for v in own.list()] == ["Available", "Pending"]


def test_the_cache_reaching_the_write_drops_it() -> None:
    cache = Cache(pv("a", 5))
    own = OwnWrites[Any](cache)
    own.wrote(pv("a", 9, "Available"))
    cache.objects["a"] = pv("a", 12, "Bound")
    assert got(own, "a").status.phase == "Bound"
    assert len(own) == 0


def test_an_older_write_never_replaces_a_newer_one() -> None:
    own = OwnWrites[Any](Cache(pv("a", 5)))
    own.wrote(pv("a", 9, "Bound"))
    own.wrote(pv("a", 7, "Available"))
    assert got(own, "a").status.phase == "Bound"


def test_a_deleted_or_recreated_object_forgets_the_write() -> None:
    cache = Cache(pv("a", 5))
    own = OwnWrites[Any](cache)
    own.wrote(pv("a", 9, "Available"))
    cache.objects["a"] = pv("a", 3, uid="u2")
    assert got(own, "a").metadata.uid == "u2"
    own.wrote(pv("a", 9, "Available", uid="u2"))
    del cache.objects["a"]
    assert own.get("a") is None
    assert own.list() == []
    assert len(own) == 0
