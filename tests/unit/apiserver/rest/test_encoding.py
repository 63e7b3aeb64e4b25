import json

from client.kinds import by_resource
from master.apiserver.rest.encoding import EncodedObjects
from proto import core_pb2

CONFIGMAPS = by_resource("configmaps")


def _cm(name: str, version: str, value: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name, cm.metadata.namespace = name, "default"
    cm.metadata.resource_version = version
    cm.data["k"] = value
    return cm


def test_one_version_is_encoded_once_and_a_new_version_again():
    cache = EncodedObjects()
    first = cache.text(CONFIGMAPS, _cm("a", "5", "old"))
    # Same version: the cached text, even if the message in hand were different.
    assert cache.text(CONFIGMAPS, _cm("a", "5", "ignored")) is first
    assert json.loads(cache.text(CONFIGMAPS, _cm("a", "6", "new")))["data"] == {"k": "new"}


def test_the_least_recently_used_version_is_dropped_past_the_limit():
    cache = EncodedObjects(limit=2)
    a = cache.text(CONFIGMAPS, _cm("a", "1", "x"))
    cache.text(CONFIGMAPS, _cm("b", "2", "x"))
    cache.text(CONFIGMAPS, _cm("a", "1", "x"))
    cache.text(CONFIGMAPS, _cm("c", "3", "x"))
    assert cache.text(CONFIGMAPS, _cm("a", "1", "x")) is a
    assert json.loads(cache.text(CONFIGMAPS, _cm("b", "2", "changed")))["data"]["k"] == "changed"


def test_a_list_is_valid_json_with_its_metadata_and_items_in_order():
    cache = EncodedObjects()
    text = cache.list_text(
        CONFIGMAPS, [_cm("a", "1", "x"), _cm("b", "2", "y")], {"resourceVersion": "9"}
    )
    listed = json.loads(text)
    assert listed["kind"] == "ConfigMapList" and listed["apiVersion"] == "v1"
    assert listed["metadata"] == {"resourceVersion": "9"}
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b"]
    assert json.loads(cache.list_text(CONFIGMAPS, [], {}))["items"] == []
