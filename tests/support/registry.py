"""A private image registry on 127.0.0.1 for the imagePullSecrets tests.

Debian's docker-registry (the CNCF distribution registry) serves on a free loopback
port with htpasswd (bcrypt) authentication, its storage in a temporary directory. The
Docker engine treats 127.0.0.0/8 registries as insecure by default, so it talks plain
HTTP to it. One locally built image is pushed there under a private name and its local
tag removed, so a pull has to go to the registry and needs the credentials. Everything
(the process, the pushed name, the storage) goes at the end.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import docker
import pytest

from tests.support.ports import free_port

__all__ = ["PrivateRegistry", "private_registry"]

SOURCE_IMAGE = "busybox:1.35"


@dataclass(frozen=True)
class PrivateRegistry:
    address: str
    """host:port, as an image reference and a docker-registry secret name it."""
    username: str
    password: str
    image: str
    """An image that exists only in this registry."""


def _config(root: Path, port: int, htpasswd: Path) -> str:
    return (
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
        f"auth: {{htpasswd: {{realm: tugboat-test, path: {htpasswd}}}}}\n"
    )


def _answering(address: str, deadline: float) -> None:
    """Wait until the registry answers /v2/ (401 without credentials is an answer)."""
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{address}/v2/", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the registry at {address} did not answer")


@contextlib.contextmanager
def private_registry(workdir: Path) -> Iterator[PrivateRegistry]:
    """Run the registry, push SOURCE_IMAGE to it under a private name, yield it."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed: run deploy/install-system-deps.sh")
    port = free_port()
    address = f"127.0.0.1:{port}"
    username, password = "tugboat", "s3cret-pull"
    htpasswd = workdir / "htpasswd"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=6)).decode()
    htpasswd.write_text(f"{username}:{hashed}\n")
    config = workdir / "registry.yml"
    config.write_text(_config(workdir / "storage", port, htpasswd))
    log = (workdir / "registry.log").open("w")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    client = docker.from_env()
    image = f"{address}/private/busybox:1.35"
    try:
        _answering(address, time.monotonic() + 20)
        client.images.get(SOURCE_IMAGE).tag(image)
        auth = {"username": username, "password": password}
        for line in client.images.push(image, auth_config=auth, stream=True, decode=True):
            if "error" in line:
                raise AssertionError(f"push to the test registry failed: {line['error']}")
        client.images.remove(image)
        yield PrivateRegistry(address, username, password, image)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image, force=True)
        client.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()
