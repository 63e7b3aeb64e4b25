"""Pod volumes as host directories under the kubelet's root dir, bind-mounted into containers.

Layout: <root>/pods/<uid>/volumes/<name>. emptyDir is a directory removed with the pod;
configMap and secret volumes are directories of files rewritten (atomically, only when
their content changed) on every refresh, so a change to the object reaches containers
that mount the directory; hostPath is the host's own path.

A persistentVolumeClaim volume is its bound PersistentVolume's path on this node (a
hostPath or local volume; a local-path volume is a hostPath of type DirectoryOrCreate,
made here at the first mount). Until the claim is bound the pod's setup fails with the
reason, and the worker keeps the pod in ContainerCreating with a FailedMount event,
retrying; a claim being deleted is never mounted anew, which is what lets the
pvc-protection controller let a claim go once its last pod is gone. The directory is
never removed with the pod: its data outlives the pod, for the next pod of the claim.
A generic ephemeral volume is mounted the same way, as the claim `<pod>-<volume>`, but
only when the pod controls that claim (client/ephemeral_volumes.py); its directory goes
when the garbage collector deletes the claim with the pod and the volume is reclaimed.

Unless the pod sets `automountServiceAccountToken: false`, every container also gets its
ServiceAccount's token, the cluster CA and the namespace at
/var/run/secrets/kubernetes.io/serviceaccount, read-only, as in Kubernetes; there the API
server injects a projected volume into the pod spec, here the kubelet adds the mount
itself, so the pod spec stays as written.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client.ephemeral_volumes import claim_name, not_for_pod
from client.errors import ApiError
from kubelet.pods.config import ConfigSource, ContainerConfigError
from kubelet.pods.downward import UNKNOWN_CAPACITY, NodeCapacity, field_value, resource_value
from kubelet.pods.env import expand
from kubelet.runtime.interface import Mount
from proto import core_pb2


class VolumeError(Exception):
    """A volume cannot be set up (Kubernetes' FailedMount)."""


def _write_files(directory: Path, files: dict[str, tuple[bytes, int]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for rel, (data, mode) in files.items():
        path = directory / rel
        wanted.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.read_bytes() == data and (path.stat().st_mode & 0o777) == mode:
                continue
        except OSError:
            pass
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    for path in directory.rglob("*"):
        if path.is_file() and path not in wanted:
            path.unlink()


def _projected(
    data: dict[str, bytes], items: list[core_pb2.KeyToPath], default_mode: int, where: str
) -> dict[str, tuple[bytes, int]]:
    if not items:
        return {k: (v, default_mode) for k, v in data.items()}
    out: dict[str, tuple[bytes, int]] = {}
    for item in items:
        if item.key not in data:
            raise VolumeError(f"{where}: key {item.key!r} not found")
        path = item.path or item.key
        if path.startswith("/") or ".." in Path(path).parts:
            raise VolumeError(f"{where}: item path {path!r} must be relative, without '..'")
        out[path] = (data[item.key], item.mode if item.HasField("mode") else default_mode)
    return out


def _downward_files(
    pod: core_pb2.Pod,
    items: list[core_pb2.DownwardAPIVolumeFile],
    default_mode: int,
    capacity: NodeCapacity,
    where: str,
) -> dict[str, tuple[bytes, int]]:
    """A downwardAPI volume's files: each the text of a pod field or a container resource."""
    out: dict[str, tuple[bytes, int]] = {}
    for item in items:
        if item.path.startswith("/") or ".." in Path(item.path).parts:
            raise VolumeError(f"{where}: item path {item.path!r} must be relative, without '..'")
        try:
            if item.HasField("resource_field_ref"):
                text = resource_value(pod, item.resource_field_ref, capacity)
            else:
                text = field_value(pod, item.field_ref.field_path, pod.status.pod_ip)
        except ContainerConfigError as e:
            raise VolumeError(f"{where}: {e}") from None
        out[item.path] = (text.encode(), item.mode if item.HasField("mode") else default_mode)
    return out


def _claim_read_only(pod: core_pb2.Pod, volume: str) -> bool:
    """A persistentVolumeClaim volume marked readOnly is mounted read-only everywhere."""
    return any(
        v.name == volume
        and v.HasField("persistent_volume_claim")
        and v.persistent_volume_claim.read_only
        for v in pod.spec.volumes
    )


SERVICE_ACCOUNT_VOLUME = "kube-api-access"
"""The pod's own directory of its ServiceAccount's token, CA and namespace."""
SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def automounts(pod: core_pb2.Pod) -> bool:
    """Whether the pod gets its ServiceAccount's token (unless it says no)."""
    spec = pod.spec
    return not spec.HasField("automount_service_account_token") or (
        spec.automount_service_account_token
    )


TOKEN_REFRESH_FRACTION = 0.8
TOKEN_MAX_AGE = 24 * 3600.0


def _claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified: the kubelet only reads when its own token expires."""
    try:
        payload = token.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def needs_refresh(token: str, now: float) -> bool:
    """Whether a mounted token is due for renewal (one that cannot be read always is)."""
    claims = _claims(token)
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        return True
    return now >= issued + TOKEN_REFRESH_FRACTION * (expires - issued) or (
        now - issued >= TOKEN_MAX_AGE
    )


class VolumeManager:
    """Creates, refreshes and removes the volumes of the pods of one node."""

    def __init__(
        self,
        root_dir: Path,
        source: ConfigSource,
        ca: bytes = b"",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root_dir = root_dir
        self.source = source
        self.clock = clock
        """Wall-clock seconds, against which a token's iat and exp are judged."""
        self.ca = ca
        """The cluster CA's PEM, written as the pods' ca.crt (none in the insecure mode)."""

    def pod_dir(self, uid: str) -> Path:
        """The pod's own directory under the root dir."""
        return self.root_dir / "pods" / uid

    async def setup(
        self, pod: core_pb2.Pod, capacity: NodeCapacity = UNKNOWN_CAPACITY
    ) -> dict[str, str]:
        """Create or refresh every volume; volume name -> host path."""
        paths: dict[str, str] = {}
        ns = pod.metadata.namespace
        base = self.pod_dir(pod.metadata.uid) / "volumes"
        for i, vol in enumerate(pod.spec.volumes):
            where = f"pod {ns}/{pod.metadata.name} spec.volumes[{i}] ({vol.name})"
            target = base / vol.name
            if vol.HasField("host_path"):
                hp = vol.host_path
                if hp.type == "DirectoryOrCreate":
                    await asyncio.to_thread(Path(hp.path).mkdir, parents=True, exist_ok=True)
                elif hp.type == "Directory" and not await asyncio.to_thread(Path(hp.path).is_dir):
                    raise VolumeError(f"{where}: hostPath {hp.path} is not a directory")
                paths[vol.name] = hp.path
                continue
            if vol.HasField("persistent_volume_claim"):
                claim = vol.persistent_volume_claim.claim_name
                paths[vol.name] = await self._claim_path(ns, claim, where)
                continue
            if vol.HasField("ephemeral"):
                claim = claim_name(pod, vol)
                paths[vol.name] = await self._claim_path(ns, claim, where, owner=pod)
                continue
            if vol.HasField("config_map") or vol.HasField("secret"):
                files = await self._projection(ns, vol, where)
                await asyncio.to_thread(_write_files, target, files)
            elif vol.HasField("downward_api"):
                source = vol.downward_api
                mode = source.default_mode if source.HasField("default_mode") else 0o644
                files = _downward_files(pod, list(source.items), mode, capacity, where)
                await asyncio.to_thread(_write_files, target, files)
            elif vol.HasField("projected"):
                files = await self._projected(pod, vol.projected, target, capacity, where)
                await asyncio.to_thread(_write_files, target, files)
            else:
                # emptyDir, also the default when no source is given.
                def make_empty(path: Path = target) -> None:
                    path.mkdir(parents=True, exist_ok=True)
                    os.chmod(path, 0o777)

                await asyncio.to_thread(make_empty)
            paths[vol.name] = str(target)
        if automounts(pod):
            paths[SERVICE_ACCOUNT_VOLUME] = str(await self._service_account(pod, base))
        return paths

    async def _claim_path(
        self, ns: str, name: str, where: str, *, owner: core_pb2.Pod | None = None
    ) -> str:
        """The host directory of the volume bound to the claim; VolumeError while there is
        none (the claim is missing, unbound or being deleted). With `owner` (a generic
        ephemeral volume's pod) a claim the pod does not control is refused, never
        mounted: it may hold someone else's data."""
        pvc = await self.source.claim(ns, name)
        if pvc is None:
            raise VolumeError(f'{where}: persistentvolumeclaim "{name}" not found')
        if owner is not None and (problem := not_for_pod(owner, pvc)):
            raise VolumeError(f"{where}: {problem}")
        if pvc.metadata.deletion_timestamp:
            raise VolumeError(f'{where}: persistentvolumeclaim "{name}" is being deleted')
        if not pvc.spec.volume_name or pvc.status.phase != "Bound":
            raise VolumeError(
                f"{where}: PVC {ns}/{name} has non-bound phase ({pvc.status.phase!r}) or "
                f"empty pvc.Spec.VolumeName ({pvc.spec.volume_name!r})"
            )
        pv = await self.source.volume(pvc.spec.volume_name)
        if pv is None:
            raise VolumeError(f'{where}: persistentvolume "{pvc.spec.volume_name}" not found')
        if pv.spec.claim_ref.uid != pvc.metadata.uid:
            raise VolumeError(
                f'{where}: persistentvolume "{pv.metadata.name}" is not bound to claim {ns}/{name}'
            )
        if pv.spec.HasField("host_path"):
            path, kind = pv.spec.host_path.path, pv.spec.host_path.type
        elif pv.spec.HasField("local"):
            path, kind = pv.spec.local.path, "Directory"
        else:
            raise VolumeError(f'{where}: persistentvolume "{pv.metadata.name}" has no local source')

        def prepare() -> None:
            directory = Path(path)
            if kind == "DirectoryOrCreate" and not directory.exists():
                directory.mkdir(parents=True, exist_ok=True)
                # Any user of the pod may write, as k3s's provisioner makes its directories.
                os.chmod(directory, 0o777)
            elif kind == "Directory" and not directory.is_dir():
                raise VolumeError(
                    f'{where}: persistentvolume "{pv.metadata.name}": {path} is not a directory'
                )

        await asyncio.to_thread(prepare)
        return path

    async def _projection(
        self, ns: str, vol: core_pb2.Volume, where: str
    ) -> dict[str, tuple[bytes, int]]:
        """The files of a configMap or secret volume: the two differ only in where the
        data comes from (an optional one whose object is missing has none)."""
        src: core_pb2.ConfigMapVolumeSource | core_pb2.SecretVolumeSource
        if vol.HasField("config_map"):
            src, kind, name = vol.config_map, "configmap", vol.config_map.name
        else:
            src, kind, name = vol.secret, "secret", vol.secret.secret_name
        mode = src.default_mode if src.HasField("default_mode") else 0o644
        data = await self._object_data(ns, kind, name, src.optional, where)
        return _projected(data, list(src.items), mode, where)

    async def _object_data(
        self, ns: str, kind: str, name: str, optional: bool, where: str
    ) -> dict[str, bytes]:
        """A ConfigMap's or Secret's data as bytes; none for a missing optional one."""
        data: dict[str, bytes] | None = None
        if kind == "configmap":
            cm = await self.source.configmap(ns, name)
            if cm is not None:
                data = {k: v.encode() for k, v in cm.data.items()}
                data.update(cm.binary_data)
        else:
            secret = await self.source.secret(ns, name)
            data = None if secret is None else dict(secret.data)
        if data is None:
            if not optional:
                raise VolumeError(f'{where}: {kind} "{name}" not found')
            return {}
        return data

    async def _projected(
        self,
        pod: core_pb2.Pod,
        projected: core_pb2.ProjectedVolumeSource,
        target: Path,
        capacity: NodeCapacity,
        where: str,
    ) -> dict[str, tuple[bytes, int]]:
        """The files of a projected volume: each source's, into one directory. A
        ServiceAccount token is asked for its audience and lifetime, and asked again as
        the volume's own token would be (80% of its life, or a day)."""
        ns = pod.metadata.namespace
        mode = projected.default_mode if projected.HasField("default_mode") else 0o644
        files: dict[str, tuple[bytes, int]] = {}
        for i, source in enumerate(projected.sources):
            swhere = f"{where} sources[{i}]"
            if source.HasField("secret") or source.HasField("config_map"):
                kind = "secret" if source.HasField("secret") else "configmap"
                proj = source.secret if kind == "secret" else source.config_map
                data = await self._object_data(ns, kind, proj.name, proj.optional, swhere)
                files.update(_projected(data, list(proj.items), mode, swhere))
            elif source.HasField("downward_api"):
                items = list(source.downward_api.items)
                files.update(_downward_files(pod, items, mode, capacity, swhere))
            elif source.HasField("service_account_token"):
                token = source.service_account_token
                files[token.path] = (await self._token_file(pod, token, target, swhere), mode)
        return files

    async def _token_file(
        self,
        pod: core_pb2.Pod,
        projection: core_pb2.ServiceAccountTokenProjection,
        target: Path,
        where: str,
    ) -> bytes:
        """The token a projected volume holds: the one written before while it is fresh."""
        current = await self._fresh_token(target / projection.path)
        if current is not None:
            return current.encode()
        try:
            seconds = projection.expiration_seconds or 3600
            token = await self.source.token(pod, projection.audience, seconds)
        except ApiError as e:
            raise VolumeError(f"{where}: cannot get a service account token: {e.message}") from None
        return token.encode()

    async def _fresh_token(self, path: Path) -> str | None:
        """The token written at `path` while it needs no renewal; None when it does, or
        when there is none."""
        try:
            current = await asyncio.to_thread(path.read_text)
        except OSError:
            return None
        return current if current and not needs_refresh(current, self.clock()) else None

    async def _service_account(self, pod: core_pb2.Pod, base: Path) -> Path:
        """token, ca.crt and namespace, as Kubernetes mounts them. The token is renewed
        as Kubernetes' kubelet renews it: once 80% of its lifetime has passed, or once it
        is a day old, whichever comes first; the file is replaced whole (a process that
        reads it again sees one token or the other, never half)."""
        target = base / SERVICE_ACCOUNT_VOLUME
        if await self._fresh_token(target / "token") is not None:
            return target
        try:
            token = await self.source.token(pod)
        except ApiError as e:
            raise VolumeError(
                f"pod {pod.metadata.namespace}/{pod.metadata.name}: cannot get a token of "
                f'service account "{pod.spec.service_account_name or "default"}": {e.message}'
            ) from None
        files = {
            "token": (token.encode(), 0o644),
            "namespace": (pod.metadata.namespace.encode(), 0o644),
        }
        if self.ca:
            files["ca.crt"] = (self.ca, 0o644)
        await asyncio.to_thread(_write_files, target, files)
        return target

    @staticmethod
    def mounts(
        pod: core_pb2.Pod,
        container: core_pb2.Container,
        paths: dict[str, str],
        env: dict[str, str] | None = None,
    ) -> list[Mount]:
        """The container's volumeMounts as bind mounts; subPath (or subPathExpr, expanded
        with the container's environment `env`) picks a file or directory."""
        out: list[Mount] = []
        for i, vm in enumerate(container.volume_mounts):
            host = paths.get(vm.name)
            if host is None:
                raise VolumeError(
                    f"pod {pod.metadata.namespace}/{pod.metadata.name} container "
                    f"{container.name} volumeMounts[{i}]: no volume named {vm.name!r}"
                )
            sub, field = vm.sub_path, "subPath"
            if vm.sub_path_expr:
                sub, field = expand(vm.sub_path_expr, env or {}), "subPathExpr"
            if sub:
                if sub.startswith("/") or ".." in Path(sub).parts:
                    raise VolumeError(
                        f"container {container.name} volumeMounts[{i}].{field} "
                        f"{sub!r} must be relative, without '..'"
                    )
                chosen = Path(host) / sub
                if not chosen.exists():
                    chosen.mkdir(parents=True, exist_ok=True)
                host = str(chosen)
            if vm.HasField("recursive_read_only") and vm.recursive_read_only == "Enabled":
                # Docker Engine 20.10 has no recursive read-only binds (API 1.44 added
                # them); kubelet refuses such a container rather than mount it writable
                # below its first level, as Kubernetes' kubelet refuses on a runtime
                # without the feature. IfPossible falls back to a plain read-only bind.
                raise VolumeError(
                    f"container {container.name} volumeMounts[{i}].recursiveReadOnly: "
                    "Enabled is not supported by the container runtime (Docker Engine "
                    "before 25 cannot make a bind mount read-only recursively); use "
                    "IfPossible or Disabled"
                )
            propagation = vm.mount_propagation if vm.HasField("mount_propagation") else ""
            out.append(
                Mount(
                    host,
                    vm.mount_path,
                    vm.read_only or _claim_read_only(pod, vm.name),
                    "" if propagation == "None" else propagation,
                )
            )
        account = paths.get(SERVICE_ACCOUNT_VOLUME)
        if account and not any(m.container_path == SERVICE_ACCOUNT_PATH for m in out):
            out.append(Mount(account, SERVICE_ACCOUNT_PATH, True))
        return out

    async def cleanup(self, uid: str) -> None:
        """Remove the pod's directory with its emptyDirs and projected files."""
        await asyncio.to_thread(shutil.rmtree, self.pod_dir(uid), True)

    def known_pods(self) -> list[str]:
        """UIDs of pods that still have a directory."""
        pods = self.root_dir / "pods"
        return [p.name for p in pods.iterdir()] if pods.is_dir() else []
