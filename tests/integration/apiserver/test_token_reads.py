"""A pod's ServiceAccount token on a real API server and etcd: the pod and its account are
read from the watch cache, and etcd is read only when the cache does not hold the pod the
kubelet names (one created a moment ago, or one recreated under the same name)."""

from __future__ import annotations

from typing import Any

import pytest

from client import errors
from client.kinds import by_resource
from master.apiserver.auth.user import UserInfo
from master.apiserver.objects import object_key
from tests.integration.apiserver.helpers import create, pod, stub_for
from tests.integration.apiserver.test_get_versions import etcd_reads
from tests.support.waiting import eventually

KUBELET = UserInfo("system:node:n1", ("system:nodes",))
POD_KEY = object_key(by_resource("pods"), "default", "web")


async def a_cached_pod(server: Any) -> Any:
    """Pod web, created, once the caches of pods and ServiceAccounts have reached it."""
    async with stub_for(server.endpoint) as stub:
        made = await create(stub, pod("web"))
    for resource, namespace, name in (
        ("pods", "default", "web"),
        ("serviceaccounts", "default", "default"),
    ):
        kind = by_resource(resource)
        cacher = await server.service.watch_cache.cacher(kind)
        key = object_key(kind, namespace, name)
        await eventually(lambda c=cacher, k=key: c.store.get(k) is not None, what=f"{key!r} cached")
    return made


async def test_a_pods_token_reads_neither_the_pod_nor_its_account_from_etcd(
    apiserver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await a_cached_pod(apiserver)
    reads = etcd_reads(apiserver, monkeypatch)
    issued = await apiserver.token_issuer.issue(
        KUBELET, "default", "default", pod_name="web", pod_uid=made.metadata.uid
    )
    assert reads == []
    claims = apiserver.sa_tokens.verify(issued.token)
    assert (claims.pod_name, claims.pod_uid) == ("web", made.metadata.uid)


async def test_a_pod_uid_the_cache_does_not_hold_is_checked_against_etcd(
    apiserver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await a_cached_pod(apiserver)
    reads = etcd_reads(apiserver, monkeypatch)
    with pytest.raises(errors.Conflict, match="was re-created"):
        await apiserver.token_issuer.issue(
            KUBELET, "default", "default", pod_name="web", pod_uid="another-uid"
        )
    assert reads == [POD_KEY]
