"""Every API server keeps Kubernetes' built-in API Priority and Fairness objects in the
store and tells each FlowSchema whether the level it names exists."""

from __future__ import annotations

from typing import Any

import pytest

from client import errors
from client.api import ApiClient
from client.codec import from_dict
from master.apiserver.flowcontrol import bootstrap
from proto import flowcontrol_pb2
from tests.support.waiting import eventually

MANDATORY_LEVELS = {"exempt", "catch-all"}
SUGGESTED_LEVELS = {
    "system",
    "node-high",
    "leader-election",
    "workload-high",
    "workload-low",
    "global-default",
}
SCHEMAS = {
    "exempt",
    "probes",
    "system-leader-election",
    "system-node-high",
    "system-nodes",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-system-service-accounts",
    "service-accounts",
    "global-default",
    "catch-all",
}


async def names(api: ApiClient, resource: str) -> set[str]:
    return {o.metadata.name for o in (await api.list(resource)).items}


async def has(api: ApiClient, resource: str, name: str) -> Any:
    try:
        return await api.get(resource, "", name)
    except errors.NotFound:
        return None


def schema(name: str, level: str, **annotations: str) -> flowcontrol_pb2.FlowSchema:
    made = from_dict(
        flowcontrol_pb2.FlowSchema,
        {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
            "kind": "FlowSchema",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {
                "priorityLevelConfiguration": {"name": level},
                "matchingPrecedence": 500,
                "rules": [
                    {
                        "subjects": [{"kind": "User", "user": {"name": "alice"}}],
                        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    }
                ],
            },
        },
    )
    return made


def dangling(found: Any) -> tuple[str, str, str] | None:
    for c in found.status.conditions:
        if c.type == "Dangling":
            return (c.status, c.reason, c.message)
    return None


async def test_a_fresh_server_holds_the_mandatory_and_suggested_objects(apiserver, api):
    levels = MANDATORY_LEVELS | SUGGESTED_LEVELS
    await eventually(lambda: _has_all(api, "prioritylevelconfigurations", levels), what="levels")
    await eventually(lambda: _has_all(api, "flowschemas", SCHEMAS), what="schemas")
    exempt = await api.get("flowschemas", "", "exempt")
    assert exempt.metadata.annotations[bootstrap.AUTO_UPDATE] == "true"
    assert exempt.spec.matching_precedence == 1
    node_high = await api.get("prioritylevelconfigurations", "", "node-high")
    assert node_high.spec.limited.nominal_concurrency_shares == 40
    assert node_high.spec.limited.limit_response.queuing.hand_size == 6


async def _has_all(api: ApiClient, resource: str, wanted: set[str]) -> bool:
    return wanted <= await names(api, resource)


async def test_a_deleted_mandatory_level_comes_back(apiserver, api):
    await eventually(lambda: has(api, "prioritylevelconfigurations", "catch-all"), what="made")
    gone = await api.delete("prioritylevelconfigurations", "", "catch-all")
    back = await eventually(
        lambda: _recreated(api, "prioritylevelconfigurations", "catch-all", gone.metadata.uid),
        what="catch-all made again",
    )
    assert back.spec.limited.limit_response.type == "Reject"


async def _recreated(api: ApiClient, resource: str, name: str, old_uid: str) -> Any:
    found = await has(api, resource, name)
    return found if found is not None and found.metadata.uid != old_uid else None


async def test_a_changed_suggested_spec_that_asks_for_auto_update_is_put_back(apiserver, api):
    found = await eventually(lambda: has(api, "flowschemas", "service-accounts"), what="made")
    found.spec.matching_precedence = 8000
    await api.update(found)

    async def restored() -> bool:
        found = await api.get("flowschemas", "", "service-accounts")
        return bool(found.spec.matching_precedence == 9000)

    await eventually(restored, what="service-accounts' precedence put back")


async def test_a_mandatory_spec_cannot_be_changed(apiserver, api):
    found = await eventually(lambda: has(api, "flowschemas", "catch-all"), what="made")
    found.spec.matching_precedence = 9999
    with pytest.raises(errors.Invalid, match="must equal the fixed value"):
        await api.update(found)


async def test_a_suggested_object_marked_not_to_update_keeps_the_administrators_spec(
    apiserver, api
):
    found = await eventually(lambda: has(api, "prioritylevelconfigurations", "workload-low"))
    found.metadata.annotations[bootstrap.AUTO_UPDATE] = "false"
    found.spec.limited.nominal_concurrency_shares = 7
    await api.update(found)
    # A change the ensurer does put back, made after ours: once it is undone, the
    # ensurer has had its round over our object too.
    other = await api.get("flowschemas", "", "global-default")
    other.spec.matching_precedence = 9000
    await api.update(other)

    async def undone() -> bool:
        found = await api.get("flowschemas", "", "global-default")
        return bool(found.spec.matching_precedence == 9900)

    await eventually(undone, what="global-default put back")
    kept = await api.get("prioritylevelconfigurations", "", "workload-low")
    assert kept.spec.limited.nominal_concurrency_shares == 7


async def test_an_object_asking_for_auto_update_that_is_not_built_in_is_deleted(apiserver, api):
    await eventually(lambda: has(api, "flowschemas", "exempt"), what="built-ins made")
    await api.create(schema("retired", "global-default", **{bootstrap.AUTO_UPDATE: "true"}))
    await api.create(schema("mine", "global-default"))

    async def retired_gone() -> bool:
        return await has(api, "flowschemas", "retired") is None

    await eventually(retired_gone, what="the retired schema deleted")
    assert await has(api, "flowschemas", "mine") is not None


async def test_a_schema_naming_a_missing_level_is_dangling_until_the_level_exists(apiserver, api):
    await api.create(schema("to-nowhere", "nowhere"))

    async def condition() -> tuple[str, str, str] | None:
        return dangling(await api.get("flowschemas", "", "to-nowhere"))

    first = await eventually(condition, what="a Dangling condition")
    assert first == (
        "True",
        "NotFound",
        'This FlowSchema references the PriorityLevelConfiguration object named "nowhere" '
        "but there is no such object",
    )
    level = from_dict(
        flowcontrol_pb2.PriorityLevelConfiguration,
        {
            "metadata": {"name": "nowhere"},
            "spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Reject"}}},
        },
    )
    level.api_version, level.kind = "flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"
    await api.create(level)

    async def found() -> bool:
        got = await condition()
        return got is not None and got[0] == "False"

    await eventually(found, what="Dangling False once the level exists")
    assert (await condition())[1:] == (  # type: ignore[index]
        "Found",
        'This FlowSchema references the PriorityLevelConfiguration object named "nowhere" '
        "and it exists",
    )
