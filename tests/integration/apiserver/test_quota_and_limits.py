"""ResourceQuota and LimitRange admission: defaults filled in, bounds and quotas refused
with Kubernetes' messages, nothing stored on a refusal, and no quota overrun by racing
creates."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import pytest
from google.protobuf.message import Message

from client import errors
from client.api import ApiClient
from client.codec import from_dict
from master.apiserver.server import ApiServer
from proto import core_pb2, policy_pb2, workloads_pb2

M = TypeVar("M", bound=Message)


def _make(cls: type[M], data: dict[str, Any]) -> M:
    made: M = from_dict(cls, data)
    return made


def quota(name: str, hard: dict[str, str]) -> policy_pb2.ResourceQuota:
    return _make(policy_pb2.ResourceQuota, {
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": name, "namespace": "default"}, "spec": {"hard": hard},
    })  # fmt: skip


def limits(items: list[dict[str, Any]]) -> policy_pb2.LimitRange:
    return _make(policy_pb2.LimitRange, {
        "apiVersion": "v1", "kind": "LimitRange",
        "metadata": {"name": "limits", "namespace": "default"}, "spec": {"limits": items},
    })  # fmt: skip


def pod(name: str, resources: dict[str, Any] | None = None) -> core_pb2.Pod:
    container: dict[str, Any] = {"name": "app", "image": "busybox:1.35"}
    if resources is not None:
        container["resources"] = resources
    return _make(core_pb2.Pod, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [container]},
    })  # fmt: skip


def configmap(name: str) -> core_pb2.ConfigMap:
    return _make(core_pb2.ConfigMap, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
    })  # fmt: skip


async def test_a_limit_range_fills_in_defaults_and_refuses_what_is_out_of_bounds(
    apiserver: ApiServer,
):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(limits([{
            "type": "Container",
            "default": {"cpu": "500m", "memory": "128Mi"},
            "defaultRequest": {"cpu": "100m"},
            "max": {"cpu": "1"},
            "min": {"memory": "64Mi"},
        }]))  # fmt: skip
        made = await api.create(pod("defaulted"))
        res = made.spec.containers[0].resources
        assert dict(res.limits) == {"cpu": "500m", "memory": "128Mi"}
        assert dict(res.requests) == {"cpu": "100m", "memory": "128Mi"}  # memory: the limit
        with pytest.raises(errors.Forbidden) as big:
            await api.create(pod("greedy", {"limits": {"cpu": "2"}}))
        assert "maximum cpu usage per Container is 1, but limit is 2" in big.value.message
        with pytest.raises(errors.Forbidden) as small:
            await api.create(pod("tiny", {"requests": {"memory": "1Mi"}}))
        assert "minimum memory usage per Container is 64Mi, but request is 1Mi" in (
            small.value.message
        )
        names = [p.metadata.name for p in (await api.list("pods", "default")).items]
        assert names == ["defaulted"]


async def test_a_quota_refuses_the_pod_that_would_go_over_and_counts_what_is_there(
    apiserver: ApiServer,
):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(quota("compute", {"pods": "2", "requests.cpu": "1"}))
        half = {"requests": {"cpu": "500m"}}
        await api.create(pod("one", half))
        with pytest.raises(errors.Forbidden) as unspecified:
            await api.create(pod("bare"))
        assert "failed quota: compute: must specify requests.cpu" in unspecified.value.message
        with pytest.raises(errors.Forbidden) as over:
            await api.create(pod("big", {"requests": {"cpu": "600m"}}))
        assert over.value.message.endswith(
            "exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, "
            "limited: requests.cpu=1"
        )
        await api.create(pod("two", half))
        with pytest.raises(errors.Forbidden, match="exceeded quota: compute"):
            await api.create(pod("three", {"requests": {"cpu": "0"}}))
        counted: Any = await api.get("resourcequotas", "default", "compute")
        assert dict(counted.status.used) == {"pods": "2", "requests.cpu": "1"}
        assert dict(counted.status.hard) == {"pods": "2", "requests.cpu": "1"}
        # A deleted pod frees its share at the next admission.
        await api.delete("pods", "default", "one", grace_period_seconds=0)
        await api.create(pod("again", half))


async def test_racing_creates_never_overrun_an_object_count_quota(apiserver: ApiServer):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(quota("few", {"count/configmaps": "5"}))

        async def attempt(i: int) -> bool:
            try:
                await api.create(configmap(f"cm-{i}"))
                return True
            except errors.Forbidden:
                return False

        made = await asyncio.gather(*(attempt(i) for i in range(12)))
        assert sum(made) == 5
        assert len((await api.list("configmaps", "default")).items) == 5


async def test_bad_quotas_and_limit_ranges_are_refused_by_field(apiserver: ApiServer):
    async with ApiClient([apiserver.endpoint]) as api:
        with pytest.raises(errors.Invalid) as unknown:
            await api.create(quota("odd", {"gpus": "1"}))
        assert 'spec.hard.gpus: Unsupported value: "gpus"' in unknown.value.message
        with pytest.raises(errors.Invalid) as inverted:
            await api.create(limits([{"type": "Container", "min": {"cpu": "2"},
                                      "max": {"cpu": "1"}}]))  # fmt: skip
        assert "min value 2 is greater than max value 1" in inverted.value.message


def scoped(name: str, hard: dict[str, str], scopes: list[str]) -> policy_pb2.ResourceQuota:
    made = quota(name, hard)
    made.spec.scopes.extend(scopes)
    return made


async def test_a_scoped_quota_counts_and_limits_only_the_pods_its_scopes_match(
    apiserver: ApiServer,
):
    requests = {"requests": {"cpu": "100m", "memory": "64Mi"}}
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(scoped("best-effort", {"pods": "1"}, ["BestEffort"]))
        await api.create(scoped("short-lived", {"pods": "1"}, ["Terminating"]))
        await api.create(pod("plain"))  # best effort: the first one fits
        with pytest.raises(errors.Forbidden) as over:
            await api.create(pod("plain-2"))
        assert "exceeded quota: best-effort" in over.value.message
        # Neither best effort nor terminating: no scoped quota counts it.
        await api.create(pod("guaranteed", requests))
        await api.create(pod("guaranteed-2", requests))
        deadline = pod("job-like", requests)
        deadline.spec.active_deadline_seconds = 60
        await api.create(deadline)
        again = pod("job-like-2", requests)
        again.spec.active_deadline_seconds = 60
        with pytest.raises(errors.Forbidden) as terminating:
            await api.create(again)
        assert "exceeded quota: short-lived" in terminating.value.message
        effort = await api.get("resourcequotas", "default", "best-effort")
        lived = await api.get("resourcequotas", "default", "short-lived")
        assert isinstance(effort, policy_pb2.ResourceQuota)
        assert isinstance(lived, policy_pb2.ResourceQuota)
        assert (effort.status.used["pods"], lived.status.used["pods"]) == ("1", "1")
        names = {p.metadata.name for p in (await api.list("pods", "default")).items}
        assert names == {"plain", "guaranteed", "guaranteed-2", "job-like"}


async def test_bad_quota_scopes_are_refused_by_field(apiserver: ApiServer):
    async with ApiClient([apiserver.endpoint]) as api:
        with pytest.raises(errors.Invalid) as unknown:
            await api.create(scoped("odd", {"pods": "1"}, ["Someday"]))
        assert 'spec.scopes[0]: Unsupported value: "Someday"' in unknown.value.message
        with pytest.raises(errors.Invalid) as both:
            await api.create(scoped("both", {"pods": "1"}, ["Terminating", "NotTerminating"]))
        assert "conflicting scopes: Terminating and NotTerminating" in both.value.message
        with pytest.raises(errors.Invalid) as cpu:
            await api.create(scoped("cpu", {"requests.cpu": "1"}, ["BestEffort"]))
        assert "spec.hard.requests.cpu: Invalid value" in cpu.value.message
        assert "unsupported scope applied to resource" in cpu.value.message
        with pytest.raises(errors.Invalid) as services:
            await api.create(scoped("svc", {"services": "1"}, ["NotTerminating"]))
        assert "spec.hard.services" in services.value.message
        assert not (await api.list("resourcequotas", "default")).items


def claim(name: str, storage: str) -> core_pb2.PersistentVolumeClaim:
    return _make(core_pb2.PersistentVolumeClaim, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
    })  # fmt: skip


def service(name: str, type_: str, ports: int) -> core_pb2.Service:
    return _make(core_pb2.Service, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": type_, "selector": {"app": name},
                 "ports": [{"name": f"p{i}", "port": 80 + i} for i in range(ports)]},
    })  # fmt: skip


async def test_a_quota_counts_claims_their_storage_load_balancers_and_node_ports(
    apiserver: ApiServer,
):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(quota("objects", {
            "persistentvolumeclaims": "2", "requests.storage": "3Gi",
            "services.loadbalancers": "1", "services.nodeports": "2",
        }))  # fmt: skip
        await api.create(claim("data", "2Gi"))
        with pytest.raises(errors.Forbidden) as big:
            await api.create(claim("more", "2Gi"))
        assert big.value.message.endswith(
            "exceeded quota: objects, requested: requests.storage=2Gi, used: "
            "requests.storage=2Gi, limited: requests.storage=3Gi"
        )
        await api.create(claim("small", "1Gi"))
        with pytest.raises(errors.Forbidden, match="requested: persistentvolumeclaims=1"):
            await api.create(claim("third", "1Mi"))
        await api.create(service("balanced", "LoadBalancer", 1))
        await api.create(service("inside", "ClusterIP", 3))
        with pytest.raises(errors.Forbidden, match=r"services\.loadbalancers"):
            await api.create(service("second", "LoadBalancer", 1))
        with pytest.raises(errors.Forbidden, match=r"requested: services\.nodeports=2"):
            await api.create(service("wide", "NodePort", 2))
        counted: Any = await api.get("resourcequotas", "default", "objects")
        assert dict(counted.status.used) == {
            "persistentvolumeclaims": "2",
            "requests.storage": "3Gi",
            "services.loadbalancers": "1",
            "services.nodeports": "1",
        }


async def test_a_claim_limit_range_bounds_each_new_claims_storage_request(
    apiserver: ApiServer,
):
    async with ApiClient([apiserver.endpoint]) as api:
        bounds = {"min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}}
        await api.create(limits([{"type": "PersistentVolumeClaim", **bounds}]))
        with pytest.raises(errors.Forbidden) as large:
            await api.create(claim("large", "5Gi"))
        assert large.value.message == (
            'persistentvolumeclaims "large" is forbidden: maximum storage usage per '
            "PersistentVolumeClaim is 2Gi, but request is 5Gi"
        )
        with pytest.raises(errors.Forbidden, match="minimum storage usage per "
                           "PersistentVolumeClaim is 1Gi, but request is 500Mi"):  # fmt: skip
            await api.create(claim("tiny", "500Mi"))
        await api.create(claim("fits", "1Gi"))
        with pytest.raises(errors.Invalid) as wrong:
            await api.create(limits([{"type": "PersistentVolumeClaim", "max": {"cpu": "1"}}]))
        assert 'spec.limits[0].max.cpu: Unsupported value: "cpu"' in wrong.value.message
        assert "either minimum or maximum storage value is required" in wrong.value.message


async def test_a_quota_with_a_priority_class_selector_counts_only_that_classs_pods(
    apiserver: ApiServer,
):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(_make(workloads_pb2.PriorityClass, {
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": "high"}, "value": 1000,
        }))  # fmt: skip
        high = quota("pods-high", {"pods": "1"})
        high.spec.scope_selector.match_expressions.add(
            scope_name="PriorityClass", operator="In", values=["high"]
        )
        await api.create(high)
        first = pod("first")
        first.spec.priority_class_name = "high"
        await api.create(first)
        second = pod("second")
        second.spec.priority_class_name = "high"
        with pytest.raises(errors.Forbidden, match="exceeded quota: pods-high"):
            await api.create(second)
        await api.create(pod("ordinary"))  # no class: outside the quota's scope
        counted: Any = await api.get("resourcequotas", "default", "pods-high")
        assert dict(counted.status.used) == {"pods": "1"}
        wrong = quota("wrong", {"pods": "1"})
        wrong.spec.scope_selector.match_expressions.add(
            scope_name="BestEffort", operator="In", values=["x"]
        )
        with pytest.raises(errors.Invalid) as refused:
            await api.create(wrong)
        assert "spec.scopeSelector.matchExpressions[0].operator: Invalid value" in (
            refused.value.message
        )
