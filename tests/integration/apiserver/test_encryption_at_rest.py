"""Secrets encrypted in etcd: the raw value has no plaintext, the API returns it decrypted,
and a key rotation keeps old values readable while new writes use the new key."""

from __future__ import annotations

import base64
from pathlib import Path

import aetcd

from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2
from tests.support.apiserver import running_apiserver
from tests.support.etcd import EtcdCluster

KEY1 = base64.b64encode(b"a" * 32).decode()
KEY2 = base64.b64encode(b"b" * 32).decode()


def _config(path: Path, keys: list[tuple[str, str]]) -> str:
    listed = ", ".join(f"{{name: {n}, secret: {s}}}" for n, s in keys)
    path.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
        "resources:\n- resources: [secrets]\n  providers:\n"
        f"  - aesgcm: {{keys: [{listed}]}}\n  - identity: {{}}\n"
    )
    return str(path)


async def _secret_of(api: ApiClient, name: str) -> core_pb2.Secret:
    found = await api.get("secrets", "default", name)
    assert isinstance(found, core_pb2.Secret)
    return found


async def _raw(etcd: EtcdCluster, key: bytes) -> bytes:
    host, port = etcd.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as c:
        found = await c.get(key)
        assert found is not None
        return bytes(found.value)


def _secret(name: str, value: bytes) -> core_pb2.Secret:
    secret: core_pb2.Secret = from_dict(
        core_pb2.Secret,
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "default"}},
    )
    secret.data["password"] = value
    return secret


async def test_a_secret_is_ciphertext_in_etcd_and_plaintext_through_the_api(
    etcd_clean: EtcdCluster, tmp_path: Path
):
    config = _config(tmp_path / "enc.yaml", [("key1", KEY1)])
    async with running_apiserver(etcd_clean.endpoints, encryption_provider_config=config) as s:
        async with ApiClient([s.endpoint]) as api:
            await api.create(_secret("db", b"hunter2-plaintext"))
            read = await _secret_of(api, "db")
            assert read.data["password"] == b"hunter2-plaintext"
            configmap = from_dict(
                core_pb2.ConfigMap,
                {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "cm", "namespace": "default"}, "data": {"k": "visible"}},
            )  # fmt: skip
            await api.create(configmap)
    raw = await _raw(etcd_clean, b"/registry/secrets/default/db")
    assert raw.startswith(b"k8s:enc:aesgcm:v1:key1:")
    assert b"hunter2" not in raw and b"password" not in raw
    assert b"visible" in await _raw(etcd_clean, b"/registry/configmaps/default/cm")


async def test_after_rotating_the_key_old_secrets_read_and_a_rewrite_uses_the_new_key(
    etcd_clean: EtcdCluster, tmp_path: Path
):
    first = _config(tmp_path / "one.yaml", [("key1", KEY1)])
    async with running_apiserver(etcd_clean.endpoints, encryption_provider_config=first) as s:
        async with ApiClient([s.endpoint]) as api:
            await api.create(_secret("old", b"v1"))
    rotated = _config(tmp_path / "two.yaml", [("key2", KEY2), ("key1", KEY1)])
    async with running_apiserver(etcd_clean.endpoints, encryption_provider_config=rotated) as s:
        async with ApiClient([s.endpoint]) as api:
            old = await _secret_of(api, "old")
            assert old.data["password"] == b"v1"
            old.data["password"] = b"v2"
            await api.update(old)
            assert (await _secret_of(api, "old")).data["password"] == b"v2"
    raw = await _raw(etcd_clean, b"/registry/secrets/default/old")
    assert raw.startswith(b"k8s:enc:aesgcm:v1:key2:")


async def test_an_update_that_changes_nothing_writes_nothing_although_ciphertexts_differ(
    etcd_clean: EtcdCluster, tmp_path: Path
):
    config = _config(tmp_path / "enc.yaml", [("key1", KEY1)])
    async with running_apiserver(etcd_clean.endpoints, encryption_provider_config=config) as s:
        async with ApiClient([s.endpoint]) as api:
            created = await api.create(_secret("same", b"v"))
            again = await api.update(created)
            assert again.metadata.resource_version == created.metadata.resource_version
