"""ConfigMap and Secret volumes as files: written, updated in place, keys removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelet.pods.volumes import VolumeError, VolumeManager
from proto import core_pb2


class Source:
    def __init__(self) -> None:
        self.cm = core_pb2.ConfigMap(data={"a.conf": "1", "b.conf": "2"})

    async def configmap(self, namespace, name):
        return self.cm if name == "cm" else None

    async def secret(self, namespace, name):
        return core_pb2.Secret(data={"pw": b"x"}) if name == "s" else None

    async def token(self, pod):
        self.tokens = getattr(self, "tokens", 0) + 1
        return f"token-of-{pod.metadata.name}"


def a_pod(*volumes: core_pb2.Volume) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name, p.metadata.namespace, p.metadata.uid = "p", "default", "uid-1"
    p.spec.volumes.extend(volumes)
    return p


async def test_configmap_files_follow_the_object_and_removed_keys_disappear(tmp_path):
    source = Source()
    vm = VolumeManager(tmp_path, source)
    vol = core_pb2.Volume(name="conf")
    vol.config_map.name = "cm"
    paths = await vm.setup(a_pod(vol))
    conf = tmp_path / "pods" / "uid-1" / "volumes" / "conf"
    assert paths["conf"] == str(conf)
    assert (conf / "a.conf").read_text() == "1"
    source.cm = core_pb2.ConfigMap(data={"a.conf": "changed"})
    await vm.setup(a_pod(vol))
    assert (conf / "a.conf").read_text() == "changed"
    assert not (conf / "b.conf").exists()
    await vm.cleanup("uid-1")
    assert not (tmp_path / "pods" / "uid-1").exists()


async def test_items_project_chosen_keys_with_modes(tmp_path):
    vol = core_pb2.Volume(name="sec")
    vol.secret.secret_name = "s"
    vol.secret.items.add(key="pw", path="deep/password", mode=0o600)
    await VolumeManager(tmp_path, Source()).setup(a_pod(vol))
    f = tmp_path / "pods" / "uid-1" / "volumes" / "sec" / "deep" / "password"
    assert f.read_bytes() == b"x"
    assert f.stat().st_mode & 0o777 == 0o600


async def test_a_missing_configmap_names_the_volume_and_pod(tmp_path):
    vol = core_pb2.Volume(name="conf")
    vol.config_map.name = "absent"
    with pytest.raises(
        VolumeError, match=r'pod default/p spec.volumes\[0\] \(conf\): configmap "absent" not found'
    ):
        await VolumeManager(tmp_path, Source()).setup(a_pod(vol))


def test_a_mount_of_an_unknown_volume_names_it():
    c = core_pb2.Container(name="main")
    c.volume_mounts.add(name="nope", mount_path="/x")
    with pytest.raises(VolumeError, match="no volume named 'nope'"):
        VolumeManager.mounts(a_pod(), c, {})


async def test_every_container_gets_its_service_account_token_namespace_and_ca(tmp_path):
    source = Source()
    volumes = VolumeManager(tmp_path, source, ca=b"CA PEM")
    pod = a_pod()
    paths = await volumes.setup(pod)
    account = Path(paths["kube-api-access"])
    assert (account / "token").read_text() == "token-of-p"
    assert (account / "namespace").read_text() == "default"
    assert (account / "ca.crt").read_bytes() == b"CA PEM"
    await volumes.setup(pod)
    assert source.tokens == 1  # asked once: the token lives as long as the pod
    (mount,) = VolumeManager.mounts(pod, core_pb2.Container(name="c"), paths)
    assert (mount.container_path, mount.read_only) == (
        "/var/run/secrets/kubernetes.io/serviceaccount",
        True,
    )


async def test_a_pod_that_says_no_gets_no_token(tmp_path):
    pod = a_pod()
    pod.spec.automount_service_account_token = False
    paths = await VolumeManager(tmp_path, Source()).setup(pod)
    assert "kube-api-access" not in paths
