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
