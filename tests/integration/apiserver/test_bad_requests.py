"""A table of bad requests: each gets the right code and a message naming what is wrong,
and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aetcd
import grpc
import pytest

from proto import api_pb2, core_pb2
from tests.integration.apiserver.helpers import configmap, pod, stub_for

INVALID = grpc.StatusCode.INVALID_ARGUMENT
Call = Callable[[Any], Any]


@dataclass
class Bad:
    id: str
    call: Call
    code: grpc.StatusCode
    names: str
    """A piece of the error message: the field or thing at fault."""


def _create(obj: Any, resource: str = "", namespace: str = "default", **kw: Any) -> Call:
    def call(stub: Any) -> Any:
        return stub.Create(
            api_pb2.CreateRequest(
                resource=resource or _resource(obj),
                namespace=namespace,
                object=obj if isinstance(obj, bytes) else obj.SerializeToString(),
                **kw,
            )
        )

    return call


def _resource(obj: Any) -> str:
    from client.kinds import of

    return of(obj).resource


def _cm(name: str = "c", **changes: Any) -> core_pb2.ConfigMap:
    cm = configmap(name)
    for path, value in changes.items():
        target: Any = cm
        *parents, leaf = path.split("__")
        for p in parents:
            target = getattr(target, p)
        setattr(target, leaf, value)
    return cm


def _labelled(key: str, value: str) -> core_pb2.ConfigMap:
    cm = configmap("c")
    cm.metadata.labels[key] = value
    return cm


def _pod_port(port: int) -> core_pb2.Pod:
    p = pod("p")
    p.spec.containers[0].ports.add(container_port=port)
    return p


def _list(**kw: Any) -> Call:
    return lambda stub: stub.List(api_pb2.ListRequest(**{"resource": "configmaps", **kw}))


def _delete(**kw: Any) -> Call:
    request = {"resource": "configmaps", "namespace": "default", "name": "keep", **kw}
    return lambda stub: stub.Delete(api_pb2.DeleteRequest(**request))


def _update(obj: Any, status: bool = False) -> Call:
    def call(stub: Any) -> Any:
        request = api_pb2.UpdateRequest(
            resource=_resource(obj), namespace="default", object=obj.SerializeToString()
        )
        return (stub.UpdateStatus if status else stub.Update)(request)

    return call


BAD = [
    Bad("unknown-resource", _create(configmap("c"), resource="widgets"), grpc.StatusCode.NOT_FOUND,
        '"widgets"'),
    Bad("garbage-bytes", _create(b"\xff\xff\xff", resource="configmaps"), INVALID, "ConfigMap"),
    Bad("unknown-field", _create(configmap("c").SerializeToString() + b"\xa8\x1f\x01",
                                 resource="configmaps"), INVALID, "#501"),
    Bad("wrong-api-version", _create(_cm(api_version="apps/v1")), INVALID, "apiVersion"),
    Bad("wrong-kind", _create(_cm(kind="Secret")), INVALID, "kind"),
    Bad("no-name", _create(_cm("")), INVALID, "metadata.name"),
    Bad("bad-name", _create(_cm("Not_A_Name")), INVALID, "metadata.name"),
    Bad("namespace-mismatch", _create(_cm(metadata__namespace="kube-system")), INVALID,
        "metadata.namespace"),
    Bad("missing-namespace", _create(_cm(metadata__namespace="nope"), namespace="nope"),
        grpc.StatusCode.NOT_FOUND, 'namespaces "nope"'),
    Bad("bad-label-key", _create(_labelled("-bad-", "v")), INVALID, "metadata.labels"),
    Bad("bad-label-value", _create(_labelled("app", "x" * 64)), INVALID, "metadata.labels"),
    Bad("port-out-of-range", _create(_pod_port(70000)), INVALID, "containerPort"),
    Bad("bad-label-selector", _list(label_selector="app in (a"), INVALID, "labelSelector"),
    Bad("bad-field-selector", _list(field_selector="spec.image=x"), INVALID, "fieldSelector"),
    Bad("bad-continue", _list(**{"continue": "!!!"}), INVALID, "continue"),
    Bad("negative-limit", _list(limit=-1), INVALID, "limit"),
    Bad("negative-grace", _delete(grace_period_seconds=-1), INVALID, "gracePeriodSeconds"),
    Bad("bad-propagation", _delete(propagation_policy="Sideways"), INVALID, "propagationPolicy"),
    Bad("bad-precondition-rv", _delete(precondition_resource_version="x"), INVALID,
        "resourceVersion"),
    Bad("update-bad-resource-version", _update(_cm("keep", metadata__resource_version="abc")),
        INVALID, "metadata.resourceVersion"),
    Bad("update-without-name", _update(_cm("")), INVALID, "metadata.name"),
    Bad("update-status-without-status", _update(configmap("keep"), status=True), INVALID,
        "status"),
    Bad("update-missing-object", _update(_cm("ghost")), grpc.StatusCode.NOT_FOUND, '"ghost"'),
]


async def _revision(etcd: Any) -> int:
    host, port = etcd.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as c:
        return int((await c.get_all(keys_only=True)).header.revision)


@pytest.mark.parametrize("bad", BAD, ids=[b.id for b in BAD])
async def test_a_bad_request_is_refused_naming_the_fault_and_writes_nothing(
    apiserver, etcd_clean, bad
):
    async with stub_for(apiserver.endpoint) as stub:
        await stub.Create(
            api_pb2.CreateRequest(
                resource="configmaps", namespace="default",
                object=configmap("keep").SerializeToString(),
            )
        )
        before = await _revision(etcd_clean)
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await bad.call(stub)
        after = await _revision(etcd_clean)
    assert e.value.code() == bad.code, e.value.details()
    assert bad.names in str(e.value.details())
    assert after == before
