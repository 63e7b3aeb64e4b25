"""A create costs etcd two requests: one read of everything admission needs, one write."""

from __future__ import annotations

from typing import Any

from tests.integration.apiserver.helpers import configmap, create, pod, stub_for


def etcd_requests(server: Any) -> dict[str, float]:
    counts: dict[str, float] = {}
    for metric in server.metrics.etcd_duration.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                counts[sample.labels["operation"]] = sample.value
    return counts


def added(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}


async def test_a_pod_create_reads_its_namespace_account_limits_and_quotas_in_one_request(
    apiserver,
):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("warm-up"))
        before = etcd_requests(apiserver)
        await create(stub, pod("web"))
        assert added(before, etcd_requests(apiserver)) == {"read": 1, "txn": 1}


async def test_a_configmap_create_likewise_reads_once_and_writes_once(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("warm-up"))
        before = etcd_requests(apiserver)
        await create(stub, configmap("settings"))
        assert added(before, etcd_requests(apiserver)) == {"read": 1, "txn": 1}
