"""Every container finds its ServiceAccount's token and namespace where Kubernetes puts
them, unless the pod opts out."""

from __future__ import annotations

import base64
import json

import pytest

from tests.integration.kubelet.pods import container, pod, read_file, running, wait_for_pod

pytestmark = pytest.mark.docker

ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


async def test_a_pod_gets_a_token_bound_to_it_and_its_namespace(api, kubelet, node_name):
    await api.create(pod("reader", node_name, container("main", "sleep", "3600")))
    made = await wait_for_pod(api, "reader", running)
    port = kubelet.config.port
    assert await read_file(port, "reader", f"{ACCOUNT}/namespace") == "default"
    token = await read_file(port, "reader", f"{ACCOUNT}/token")
    claims = token.split(".")[1]
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["sub"] == "system:serviceaccount:default:default"
    assert decoded["kubernetes.io"]["pod"] == {"name": "reader", "uid": made.metadata.uid}


async def test_a_pod_that_opts_out_has_no_token(api, kubelet, node_name):
    quiet = pod("quiet", node_name, container("main", "sleep", "3600"))
    quiet.spec.automount_service_account_token = False
    await api.create(quiet)
    await wait_for_pod(api, "quiet", running)
    listing = await read_file(kubelet.config.port, "quiet", "/var/run/secrets")
    assert listing == ""  # cat of a missing path prints nothing to stdout


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    decoded: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def test_a_projected_volume_holds_a_token_for_its_audience_and_the_pods_fields(
    api, kubelet, node_name
):
    c = container("main", "sleep", "3600")
    c.volume_mounts.add(name="projected", mount_path="/projected")
    p = pod("projecting", node_name, c)
    p.metadata.labels["tier"] = "web"
    sources = p.spec.volumes.add(name="projected").projected.sources
    token = sources.add().service_account_token
    token.audience, token.expiration_seconds, token.path = "vault", 7200, "vault-token"
    sources.add().downward_api.items.add(path="labels").field_ref.field_path = "metadata.labels"
    await api.create(p)
    await wait_for_pod(api, "projecting", running)
    port = kubelet.config.port
    claims = _claims(await read_file(port, "projecting", "/projected/vault-token"))
    assert claims["aud"] == ["vault"]
    assert int(str(claims["exp"])) - int(str(claims["iat"])) == 7200
    assert await read_file(port, "projecting", "/projected/labels") == 'tier="web"'
    # The pod's own token is still the API server's.
    assert _claims(await read_file(port, "projecting", f"{ACCOUNT}/token"))["aud"] != ["vault"]
