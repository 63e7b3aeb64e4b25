"""ConfigMap and Secret volumes as files: written, updated in place, keys removed."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import pytest

from kubelet.pods.downward import NodeCapacity
from kubelet.pods.volumes import VolumeError, VolumeManager
from proto import core_pb2


class Source:
    def __init__(self) -> None:
        self.cm = core_pb2.ConfigMap(data={"a.conf": "1", "b.conf": "2"})
        self.now = time.time()
        """The wall clock the tokens are issued at."""

    async def configmap(self, namespace, name):
        return self.cm if name == "cm" else None

    async def secret(self, namespace, name):
        return core_pb2.Secret(data={"pw": b"x"}) if name == "s" else None

    lifetime = 3600

    async def token(self, pod, audience="", expiration_seconds=0):
        self.tokens = getattr(self, "tokens", 0) + 1
        self.asked = [*getattr(self, "asked", []), (audience, expiration_seconds)]
        lifetime = expiration_seconds or self.lifetime
        return jwt_like(pod.metadata.name, self.tokens, self.now, self.now + lifetime)

    claims: dict[str, core_pb2.PersistentVolumeClaim] = {}
    volumes: dict[str, core_pb2.PersistentVolume] = {}

    async def claim(self, namespace, name):
        return self.claims.get(name)

    async def volume(self, name):
        return self.volumes.get(name)


def jwt_like(sub: str, serial: int, iat: float, exp: float) -> str:
    """A token shaped as a JWT (the kubelet reads its iat and exp, never its signature)."""
    claims = {"sub": sub, "serial": serial, "iat": int(iat), "exp": int(exp)}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"header.{payload}.signature"


def serial(token: str) -> int:
    payload = token.split(".")[1]
    return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["serial"])


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
    assert serial((account / "token").read_text()) == 1
    assert (account / "namespace").read_text() == "default"
    assert (account / "ca.crt").read_bytes() == b"CA PEM"
    await volumes.setup(pod)
    assert source.tokens == 1  # asked once while the token is fresh
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


async def test_a_mounted_token_is_renewed_once_80_percent_of_its_life_has_passed(tmp_path):
    source = Source()
    clock = [source.now]
    volumes = VolumeManager(tmp_path, source, clock=lambda: clock[0])
    pod = a_pod()
    token = Path((await volumes.setup(pod))["kube-api-access"]) / "token"
    clock[0] = source.now + 0.79 * source.lifetime
    await volumes.setup(pod)
    assert (source.tokens, serial(token.read_text())) == (1, 1)
    clock[0] = source.now + 0.8 * source.lifetime
    source.now = clock[0]
    await volumes.setup(pod)
    assert (source.tokens, serial(token.read_text())) == (2, 2)


async def test_a_long_lived_token_is_renewed_once_a_day_and_an_unreadable_one_at_once(tmp_path):
    source = Source()
    source.lifetime = 365 * 24 * 3600  # as the API server extends a kubelet's request
    clock = [source.now]
    volumes = VolumeManager(tmp_path, source, clock=lambda: clock[0])
    pod = a_pod()
    token = Path((await volumes.setup(pod))["kube-api-access"]) / "token"
    clock[0] = source.now + 24 * 3600
    await volumes.setup(pod)
    assert serial(token.read_text()) == 2
    token.write_text("garbage")
    await volumes.setup(pod)
    assert serial(token.read_text()) == 3


def claim_source(tmp_path, *, phase: str = "Bound") -> Source:
    """A source with the claim `data` bound (or not) to a DirectoryOrCreate hostPath volume."""
    source = Source()
    pvc = core_pb2.PersistentVolumeClaim()
    pvc.metadata.name, pvc.metadata.uid = "data", "claim-uid"
    pvc.spec.volume_name, pvc.status.phase = "pv1", phase
    pv = core_pb2.PersistentVolume()
    pv.metadata.name = "pv1"
    pv.spec.claim_ref.uid = "claim-uid"
    pv.spec.host_path.path, pv.spec.host_path.type = (
        str(tmp_path / "lp" / "pv1"),
        "DirectoryOrCreate",
    )
    source.claims, source.volumes = {"data": pvc}, {"pv1": pv}
    return source


def claim_volume(read_only: bool = False) -> core_pb2.Volume:
    vol = core_pb2.Volume(name="d")
    vol.persistent_volume_claim.claim_name = "data"
    vol.persistent_volume_claim.read_only = read_only
    return vol


async def test_a_bound_claim_mounts_its_volumes_directory_made_at_first_mount(tmp_path):
    vm = VolumeManager(tmp_path, claim_source(tmp_path))
    pod = a_pod(claim_volume(read_only=True))
    paths = await vm.setup(pod)
    assert paths["d"] == str(tmp_path / "lp" / "pv1")
    assert (tmp_path / "lp" / "pv1").is_dir()
    container = core_pb2.Container(name="c")
    container.volume_mounts.add(name="d", mount_path="/data")
    (mount,) = [m for m in vm.mounts(pod, container, paths) if m.container_path == "/data"]
    assert mount.read_only
    await vm.cleanup("uid-1")
    assert (tmp_path / "lp" / "pv1").is_dir()  # the data outlives the pod


async def test_an_unbound_or_missing_claim_is_not_mounted_yet(tmp_path):
    with pytest.raises(VolumeError, match="non-bound phase"):
        await VolumeManager(tmp_path, claim_source(tmp_path, phase="Pending")).setup(
            a_pod(claim_volume())
        )
    vol = claim_volume()
    vol.persistent_volume_claim.claim_name = "other"
    with pytest.raises(VolumeError, match='persistentvolumeclaim "other" not found'):
        await VolumeManager(tmp_path, claim_source(tmp_path)).setup(a_pod(vol))


def ephemeral_source(tmp_path: Path, owner_uid: str) -> Source:
    """The claim `p-scratch` (pod `p`'s volume `scratch`), bound, controlled by `owner_uid`."""
    source = claim_source(tmp_path)
    pvc = source.claims.pop("data")
    pvc.metadata.name, pvc.metadata.namespace = "p-scratch", "default"
    pvc.metadata.owner_references.add(kind="Pod", name="p", uid=owner_uid, controller=True)
    source.claims = {"p-scratch": pvc}
    return source


def ephemeral_volume() -> core_pb2.Volume:
    vol = core_pb2.Volume(name="scratch")
    vol.ephemeral.volume_claim_template.spec.access_modes.append("ReadWriteOnce")
    return vol


async def test_an_ephemeral_volume_mounts_the_pods_own_claim_named_after_pod_and_volume(
    tmp_path: Path,
) -> None:
    paths = await VolumeManager(tmp_path, ephemeral_source(tmp_path, "uid-1")).setup(
        a_pod(ephemeral_volume())
    )
    assert paths["scratch"] == str(tmp_path / "lp" / "pv1")
    assert (tmp_path / "lp" / "pv1").is_dir()


async def test_an_ephemeral_volumes_namesake_claim_not_made_for_the_pod_is_never_mounted(
    tmp_path: Path,
) -> None:
    vm = VolumeManager(tmp_path, ephemeral_source(tmp_path, "an-earlier-pod"))
    refusal = "PVC default/p-scratch was not created for pod default/p (pod is not owner)"
    with pytest.raises(VolumeError, match=re.escape(refusal)):
        await vm.setup(a_pod(ephemeral_volume()))
    assert not (tmp_path / "lp" / "pv1").exists()


def labelled_pod(*volumes: core_pb2.Volume) -> core_pb2.Pod:
    pod = a_pod(*volumes)
    pod.metadata.labels.update({"zone": "us-est-coast", "app": "web"})
    pod.metadata.annotations["builder"] = 'john "doe"'
    main = pod.spec.containers.add(name="main")
    main.resources.requests["cpu"] = "250m"
    main.resources.limits["memory"] = "64Mi"
    return pod


async def test_a_downward_api_volume_writes_the_pods_fields_and_resources(tmp_path):
    vol = core_pb2.Volume(name="info")
    items = vol.downward_api.items
    items.add(path="labels").field_ref.field_path = "metadata.labels"
    items.add(path="annotations").field_ref.field_path = "metadata.annotations"
    items.add(path="name", mode=0o600).field_ref.field_path = "metadata.name"
    cpu = items.add(path="cpu_request").resource_field_ref
    cpu.container_name, cpu.resource, cpu.divisor = "main", "requests.cpu", "1m"
    memory = items.add(path="mem_limit").resource_field_ref
    memory.container_name, memory.resource, memory.divisor = "main", "limits.memory", "1Mi"
    cpu_limit = items.add(path="cpu_limit").resource_field_ref
    cpu_limit.container_name, cpu_limit.resource = "main", "limits.cpu"
    capacity = NodeCapacity(cpu_millis=2000, memory_bytes=4 << 30)
    paths = await VolumeManager(tmp_path, Source()).setup(labelled_pod(vol), capacity)
    info = Path(paths["info"])
    assert (info / "labels").read_text() == 'app="web"\nzone="us-est-coast"'
    assert (info / "annotations").read_text() == 'builder="john \\"doe\\""'
    assert (info / "name").read_text() == "p"
    assert (info / "name").stat().st_mode & 0o777 == 0o600
    assert (info / "cpu_request").read_text() == "250"
    assert (info / "mem_limit").read_text() == "64"
    # No cpu limit: the node's allocatable cores, rounded up to the divisor (1 core).
    assert (info / "cpu_limit").read_text() == "2"


async def test_a_projected_volume_joins_its_sources_and_asks_its_token_for_its_audience(
    tmp_path,
):
    vol = core_pb2.Volume(name="all")
    sources = vol.projected.sources
    sources.add().config_map.name = "cm"
    secret = sources.add().secret
    secret.name = "s"
    secret.items.add(key="pw", path="creds/password")
    sources.add().downward_api.items.add(path="pod").field_ref.field_path = "metadata.name"
    token = sources.add().service_account_token
    token.audience, token.expiration_seconds, token.path = "vault", 7200, "vault-token"
    source = Source()
    volumes = VolumeManager(tmp_path, source)
    paths = await volumes.setup(labelled_pod(vol))
    projected = Path(paths["all"])
    for written in ("a.conf", "b.conf", "pod", "vault-token"):
        assert (projected / written).is_file(), written
    assert (projected / "creds" / "password").read_bytes() == b"x"
    assert serial((projected / "vault-token").read_text()) >= 1
    assert ("vault", 7200) in source.asked
    asked = len(source.asked)
    await volumes.setup(labelled_pod(vol))
    assert len(source.asked) == asked  # both tokens fresh: neither asked again


async def test_a_projected_secret_that_is_missing_and_not_optional_names_the_source(tmp_path):
    vol = core_pb2.Volume(name="all")
    vol.projected.sources.add().secret.name = "absent"
    with pytest.raises(VolumeError, match=r'\(all\) sources\[0\]: secret "absent" not found'):
        await VolumeManager(tmp_path, Source()).setup(a_pod(vol))
