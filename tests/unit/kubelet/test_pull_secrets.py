"""Which registry credentials a pull offers: the kubelet keyring's matching rules."""

from __future__ import annotations

import base64
import json

import pytest

from kubelet.pods.pull_secrets import credentials, image_location, pick
from kubelet.runtime.interface import RegistryAuth
from proto import core_pb2


@pytest.mark.parametrize(
    ("image", "where"),
    [
        ("busybox", ("docker.io", "library/busybox")),
        ("busybox:1.35", ("docker.io", "library/busybox")),
        ("team/app:v2", ("docker.io", "team/app")),
        ("index.docker.io/team/app", ("docker.io", "team/app")),
        ("registry.example.com/team/app:v2", ("registry.example.com", "team/app")),
        ("127.0.0.1:5000/private/busybox:1.35", ("127.0.0.1:5000", "private/busybox")),
        ("localhost/app@sha256:" + "a" * 64, ("localhost", "app")),
    ],
)
def test_an_image_names_its_registry_and_repository(image: str, where: tuple[str, str]) -> None:
    assert image_location(image) == where


def secret(auths: dict[str, dict[str, str]], *, legacy: bool = False) -> core_pb2.Secret:
    s = core_pb2.Secret()
    if legacy:
        s.type, s.data[".dockercfg"] = "kubernetes.io/dockercfg", json.dumps(auths).encode()
    else:
        body = json.dumps({"auths": auths}).encode()
        s.type, s.data[".dockerconfigjson"] = "kubernetes.io/dockerconfigjson", body
    return s


def entry(user: str) -> dict[str, str]:
    return {"username": user, "password": f"{user}-pw"}


def test_the_most_specific_entry_of_the_images_registry_wins() -> None:
    secrets = [
        secret({"registry.example.com": entry("whole"), "other.example.com": entry("other")}),
        secret({"https://registry.example.com/team/": entry("team")}),
    ]
    assert pick("registry.example.com/team/app:v1", secrets) == RegistryAuth(
        "team", "team-pw", "https://registry.example.com/team/"
    )
    chosen = pick("registry.example.com/teammate/app", secrets)
    assert chosen is not None and chosen.username == "whole", "a path matches whole segments"
    assert pick("registry.example.com:5000/team/app", secrets) is None, "the port must match"
    assert pick("elsewhere.io/app", secrets) is None


def test_docker_hub_answers_to_all_its_names_and_auth_may_be_base64() -> None:
    token = base64.b64encode(b"hubuser:hubpw").decode()
    hub = secret({"https://index.docker.io/v1/": {"auth": token}}, legacy=True)
    assert pick("busybox:1.35", [hub]) == RegistryAuth(
        "hubuser", "hubpw", "https://index.docker.io/v1/"
    )
    assert pick("docker.io/team/app", [hub]) is not None


def test_a_malformed_or_untyped_secret_offers_nothing() -> None:
    broken = core_pb2.Secret(type="kubernetes.io/dockerconfigjson")
    broken.data[".dockerconfigjson"] = b"not json"
    opaque = core_pb2.Secret(type="Opaque")
    opaque.data[".dockerconfigjson"] = json.dumps({"auths": {"r.io": entry("x")}}).encode()
    assert pick("r.io/app", [broken, opaque]) is None


class Secrets:
    def __init__(self, known: dict[str, core_pb2.Secret]) -> None:
        self.known = known

    async def secret(self, namespace: str, name: str) -> core_pb2.Secret | None:
        return self.known.get(name)


async def test_missing_secrets_are_named_and_the_rest_still_offered() -> None:
    pod = core_pb2.Pod()
    pod.metadata.namespace = "default"
    for name in ("gone", "regcred"):
        pod.spec.image_pull_secrets.add(name=name)
    source = Secrets({"regcred": secret({"r.io": entry("me")})})
    got = await credentials(pod, "r.io/app:1", source)  # type: ignore[arg-type]
    assert got.missing == ("gone",)
    assert got.auth == RegistryAuth("me", "me-pw", "r.io")
