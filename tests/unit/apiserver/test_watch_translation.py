"""How one etcd change becomes a watch event, judged by the watcher's selectors."""

from __future__ import annotations

from typing import Any

import pytest
from aetcd import rpc

from client.kinds import by_resource
from master.apiserver.objects import encode_for_store
from master.apiserver.selection import Selection, parse
from master.apiserver.watching import translate
from proto import core_pb2

PODS = by_resource("pods")
KEY = b"/registry/pods/default/p"


def _pod(**labels: str) -> bytes:
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name = "p"
    p.metadata.namespace = "default"
    p.metadata.labels.update(labels)
    return encode_for_store(p)


def _put(value: bytes, prev: bytes | None, version: int = 2) -> Any:
    event = rpc.Event(type=rpc.Event.PUT)
    event.kv.CopyFrom(rpc.KeyValue(key=KEY, value=value, mod_revision=42, version=version))
    if prev is not None:
        event.prev_kv.CopyFrom(rpc.KeyValue(key=KEY, value=prev, mod_revision=41))
    return event


def _delete(prev: bytes | None) -> Any:
    event = rpc.Event(type=rpc.Event.DELETE)
    event.kv.CopyFrom(rpc.KeyValue(key=KEY, mod_revision=42))
    if prev is not None:
        event.prev_kv.CopyFrom(rpc.KeyValue(key=KEY, value=prev, mod_revision=41))
    return event


WEB = parse("app=web", "")
EVERYTHING = Selection()

CASES = [
    ("created", EVERYTHING, _put(_pod(), None, version=1), "ADDED"),
    ("updated", EVERYTHING, _put(_pod(x="2"), _pod(x="1")), "MODIFIED"),
    ("deleted", EVERYTHING, _delete(_pod()), "DELETED"),
    ("starts-matching", WEB, _put(_pod(app="web"), _pod(app="db")), "ADDED"),
    ("stops-matching", WEB, _put(_pod(app="db"), _pod(app="web")), "DELETED"),
    ("keeps-matching", WEB, _put(_pod(app="web", x="1"), _pod(app="web")), "MODIFIED"),
    ("never-matches", WEB, _put(_pod(app="db", x="1"), _pod(app="db")), None),
    ("non-match-deleted", WEB, _delete(_pod(app="db")), None),
    ("prev-compacted-update", EVERYTHING, _put(_pod(x="2"), None, version=3), "MODIFIED"),
    ("prev-compacted-delete", EVERYTHING, _delete(None), "DELETED"),
    ("prev-compacted-delete-selected", WEB, _delete(None), None),
]


@pytest.mark.parametrize(
    ("selection", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_change_becomes_the_event_kubernetes_would_send(selection, event, expected):
    result = translate(PODS, selection, event)
    assert (result.type if result else None) == expected
    if result is not None:
        assert result.resource_version == "42"


def test_a_deleted_event_carries_the_last_state_at_the_deletions_revision():
    result = translate(PODS, WEB, _put(_pod(app="db"), _pod(app="web")))
    assert result is not None
    pod = core_pb2.Pod.FromString(result.object)
    assert pod.metadata.labels["app"] == "web"
    assert pod.metadata.resource_version == "42"
