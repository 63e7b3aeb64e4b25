"""Create: names, namespaces, server-set fields and what a request may not carry."""

from __future__ import annotations

import aiohttp
import grpc
import pytest

from proto import api_pb2, core_pb2, policy_pb2, rbac_pb2
from tests.integration.apiserver.helpers import (
    configmap,
    create,
    get,
    list_names,
    pod,
    stub_for,
)


async def test_the_system_namespaces_exist_from_the_first_start(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        names = await list_names(stub, "namespaces")
        default = await get(stub, "namespaces", "", "default")
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(names)
    assert default.status.phase == "Active"


async def test_several_servers_starting_on_one_etcd_bootstrap_once(apiserver_factory):
    first = await apiserver_factory.start(name="a")
    await apiserver_factory.start(name="b")
    async with stub_for(first.endpoint) as stub:
        names = await list_names(stub, "namespaces")
    assert sorted(names) == ["default", "kube-node-lease", "kube-public", "kube-system"]


async def test_an_object_in_a_missing_namespace_is_not_found_naming_it(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await create(stub, configmap("c", namespace="nowhere"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert 'namespaces "nowhere" not found' in str(e.value.details())


async def test_creating_an_existing_name_is_already_exists(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("twice"))
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await create(stub, configmap("twice"))
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert 'configmaps "twice" already exists' in str(e.value.details())


async def test_generate_name_appends_five_random_characters(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        names = set()
        for _ in range(3):
            cm = configmap("")
            cm.metadata.generate_name = "web-"
            names.add((await create(stub, cm)).metadata.name)
    assert len(names) == 3
    for name in names:
        assert name.startswith("web-") and len(name) == len("web-") + 5
        assert name[4:].isalnum() and name[4:] == name[4:].lower()


async def test_an_object_without_name_or_generate_name_is_invalid(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await create(stub, configmap(""))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "metadata.name: Required value" in str(e.value.details())


async def test_the_request_namespace_and_the_object_namespace_must_agree(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        cm = configmap("c", namespace="kube-system")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Create(
                api_pb2.CreateRequest(
                    resource="configmaps", namespace="default", object=cm.SerializeToString()
                )
            )
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "metadata.namespace" in str(e.value.details())
        # An object without a namespace takes the request's; a request without one, "default".
        cm.metadata.namespace = ""
        await stub.Create(
            api_pb2.CreateRequest(
                resource="configmaps", namespace="kube-system", object=cm.SerializeToString()
            )
        )
        await stub.Create(
            api_pb2.CreateRequest(resource="configmaps", object=cm.SerializeToString())
        )
        in_system = await get(stub, "configmaps", "kube-system", "c")
        assert in_system.metadata.namespace == "kube-system"
        assert (await get(stub, "configmaps", "default", "c")).metadata.namespace == "default"


async def test_server_set_fields_in_the_request_are_replaced(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        cm = configmap("c")
        cm.metadata.uid = "forged"
        cm.metadata.generation = 7
        cm.metadata.deletion_timestamp = "2020-01-01T00:00:00Z"
        made = await create(stub, cm)
    assert made.metadata.uid != "forged"
    assert made.metadata.generation == 1
    assert made.metadata.deletion_timestamp == ""


async def test_an_object_with_fields_unknown_to_the_server_is_refused(apiserver):
    data = configmap("c").SerializeToString() + bytes([0xA8, 0x1F, 0x01])  # field 501
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Create(api_pb2.CreateRequest(resource="configmaps", object=data))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "#501" in str(e.value.details())


async def test_an_unknown_resource_is_not_found(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Get(api_pb2.GetRequest(resource="widgets", name="w"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert "widgets" in str(e.value.details())


async def test_secret_string_data_is_merged_into_data_and_not_stored(apiserver):
    secret = core_pb2.Secret(api_version="v1", kind="Secret")
    secret.metadata.name = "s"
    secret.metadata.namespace = "default"
    secret.data["a"] = b"old"
    secret.string_data["a"] = "new"
    secret.string_data["b"] = "two"
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, secret)
        got = await get(stub, "secrets", "default", "s")
    assert dict(got.data) == {"a": b"new", "b": b"two"}
    assert not got.string_data


async def test_a_request_over_three_mebibytes_is_refused(apiserver):
    big = configmap("big", blob="x" * (3 * 1024 * 1024 + 10))
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await create(stub, big)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "larger than max" in str(e.value.details())
        # Nothing was written, and the server still serves.
        assert "big" not in await list_names(stub, "configmaps", "default")


async def test_a_dry_run_create_validates_but_writes_nothing(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        result = await create(stub, pod("dry"), dry_run=True)
        assert result.metadata.name == "dry"
        assert await list_names(stub, "pods", "default") == []


async def test_an_object_too_large_for_etcd_is_refused_as_too_large(apiserver):
    # Under the 3 MiB request limit, over etcd's default 1.5 MiB per request.
    big = pod("big")
    big.spec.containers[0].args.extend(["x" * 1024] * 2048)
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await create(stub, big)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too large" in str(e.value.details())


async def test_a_role_named_by_a_long_path_segment_reads_back_over_rest(apiserver):
    # RBAC names have no length limit in Kubernetes, so the URL of one may be far longer
    # than aiohttp's 8 KiB request line; Go's servers allow a mebibyte of header.
    role = rbac_pb2.Role(api_version="rbac.authorization.k8s.io/v1", kind="Role")
    role.metadata.name = "x" * 70_000
    role.metadata.namespace = "default"
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, role)
    base = f"http://127.0.0.1:{apiserver.status.port}/apis/rbac.authorization.k8s.io/v1"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/namespaces/default/roles/{role.metadata.name}") as r:
            assert r.status == 200
            assert (await r.json())["metadata"]["name"] == role.metadata.name


async def test_a_rest_create_over_one_mebibyte_is_stored_and_one_over_three_refused(apiserver):
    base = f"http://127.0.0.1:{apiserver.status.port}/api/v1/namespaces/default/configmaps"

    def body(name: str, size: int, note: int = 0) -> dict[str, object]:
        meta = {"name": name, "annotations": {"note": "y" * note}}
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"blob": "x" * size},
        }

    # Between aiohttp's 1 MiB default body and etcd's 1.5 MiB request limit, within
    # ConfigMap's 1 MiB of data and 256 KiB of annotations.
    async with aiohttp.ClientSession() as session:
        async with session.post(base, json=body("one", 1000 * 1024, note=200 * 1024)) as r:
            assert r.status == 201, await r.text()
        async with session.post(base, json=body("big", 3 * 1024 * 1024 + 10)) as r:
            assert r.status == 413
            refused = await r.json()
    assert refused["kind"] == "Status"
    assert refused["reason"] == "RequestEntityTooLarge"
    async with stub_for(apiserver.endpoint) as stub:
        assert "big" not in await list_names(stub, "configmaps", "default")


async def test_a_pod_naming_no_pull_secrets_gets_its_service_accounts(apiserver):
    builder = policy_pb2.ServiceAccount(api_version="v1", kind="ServiceAccount")
    builder.metadata.name, builder.metadata.namespace = "builder", "default"
    builder.image_pull_secrets.add(name="regcred")
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, builder)
        plain = pod("plain")
        plain.spec.service_account_name = "builder"
        created = await create(stub, plain)
        own = pod("own")
        own.spec.service_account_name = "builder"
        own.spec.image_pull_secrets.add(name="mine")
        kept = await create(stub, own)
    assert [s.name for s in created.spec.image_pull_secrets] == ["regcred"]
    assert [s.name for s in kept.spec.image_pull_secrets] == ["mine"]
