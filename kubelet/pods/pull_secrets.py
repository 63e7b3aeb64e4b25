"""Registry credentials for a pod's image pulls, from its imagePullSecrets.

As Kubernetes' kubelet keyring does: each Secret of type kubernetes.io/dockerconfigjson
(`{"auths": {server: entry}}`) or kubernetes.io/dockercfg (`{server: entry}`) gives
entries keyed by a registry address, optionally with a path; an entry has a username and
password, or `auth`, their base64 "user:password". The image's registry is its first
name component when that has a dot, a port or is `localhost`, else Docker Hub (whose
several spellings are one). Of the entries whose host and port equal the image's and
whose path is a prefix of the image's path, the longest wins, so a key for
`registry.example.com/team` beats one for the whole registry.

A Secret that is missing or unreadable does not stop the pull: the kubelet pulls without
it and says so in a FailedToRetrieveImagePullSecret event, as Kubernetes does, and the
registry then answers for itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from client.errors import ApiError
from kubelet.pods.config import ConfigSource
from kubelet.runtime.interface import RegistryAuth
from proto import core_pb2

__all__ = ["PullCredentials", "credentials", "image_location", "pick"]

DOCKER_HUB = "docker.io"
_HUB_NAMES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_KEYS = {
    "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
    "kubernetes.io/dockercfg": ".dockercfg",
}


def _host(host: str) -> str:
    return DOCKER_HUB if host in _HUB_NAMES else host


def image_location(image: str) -> tuple[str, str]:
    """(registry host[:port], repository path) of an image reference."""
    name = image.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = DOCKER_HUB, name if rest else f"library/{name}"
    last = path.rsplit("/", 1)
    if ":" in last[-1]:
        path = path[: len(path) - len(last[-1])] + last[-1].split(":", 1)[0]
    return _host(host), path


def _key_location(key: str) -> tuple[str, str]:
    """(host[:port], path) of a config key such as `https://index.docker.io/v1/`."""
    text = key.split("://", 1)[-1].strip("/")
    host, _, path = text.partition("/")
    if path in ("v1", "v2"):  # the API version of old Docker Hub keys, not a repository
        path = ""
    return _host(host), path


def _entries(secret: core_pb2.Secret) -> dict[str, dict[str, Any]]:
    key = _KEYS.get(secret.type)
    if key is None or key not in secret.data:
        return {}
    try:
        parsed = json.loads(secret.data[key])
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    auths = parsed.get("auths", {}) if key == ".dockerconfigjson" else parsed
    return (
        {k: v for k, v in auths.items() if isinstance(v, dict)} if isinstance(auths, dict) else {}
    )


def _auth_of(server: str, entry: dict[str, Any]) -> RegistryAuth | None:
    user, password = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(password, str) and user:
        return RegistryAuth(user, password, server)
    token = entry.get("auth")
    if not isinstance(token, str):
        return None
    try:
        user, sep, password = base64.b64decode(token).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return RegistryAuth(user, password, server) if sep and user else None


def pick(image: str, secrets: list[core_pb2.Secret]) -> RegistryAuth | None:
    """The credentials of the most specific entry for the image's registry, or None."""
    host, path = image_location(image)
    best: tuple[int, RegistryAuth] | None = None
    for secret in secrets:
        for key, entry in _entries(secret).items():
            key_host, key_path = _key_location(key)
            if key_host != host:
                continue
            if key_path and not (path == key_path or path.startswith(key_path + "/")):
                continue
            auth = _auth_of(key, entry)
            if auth is not None and (best is None or len(key_path) > best[0]):
                best = (len(key_path), auth)
    return best[1] if best is not None else None


@dataclass(frozen=True)
class PullCredentials:
    auth: RegistryAuth | None
    missing: tuple[str, ...]
    """Secrets the pod names that could not be read."""


async def credentials(pod: core_pb2.Pod, image: str, config: ConfigSource) -> PullCredentials:
    """What to offer the registry when pulling `image` for `pod`."""
    found: list[core_pb2.Secret] = []
    missing: list[str] = []
    for ref in pod.spec.image_pull_secrets:
        try:
            secret = await config.secret(pod.metadata.namespace, ref.name) if ref.name else None
        except ApiError:
            secret = None
        if secret is None:
            missing.append(ref.name)
        else:
            found.append(secret)
    return PullCredentials(pick(image, found), tuple(missing))
