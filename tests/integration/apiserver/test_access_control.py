"""Authentication and authorization on a real API server (static tokens, Node and RBAC modes):
a table of attacks and misuses, each refused with the right code and nothing written, over
gRPC and over HTTP, and the legitimate requests beside them allowed."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from client import errors
from client.api import ApiClient, ClientOptions
from client.codec import from_dict
from client.credentials import AUTHORIZATION
from client.kinds import by_resource
from master.apiserver.server import ApiServer
from proto import auth_pb2, auth_pb2_grpc, core_pb2, rbac_pb2
from tests.support.apiserver import running_apiserver
from tests.support.etcd import EtcdCluster

TOKENS = {
    "admin": ("admin-token", "admin", "system:masters"),
    "vera": ("vera-token", "vera", ""),
    "eddie": ("eddie-token", "eddie", ""),
    "n1": ("n1-token", "system:node:n1", "system:nodes"),
    "scheduler": ("sched-token", "system:kube-scheduler", ""),
}


@dataclass
class Cluster:
    server: ApiServer
    clients: dict[str, ApiClient]

    @property
    def admin(self) -> ApiClient:
        return self.clients["admin"]

    async def http(self, method: str, path: str, token: str | None) -> tuple[int, dict[str, Any]]:
        # In a thread: the API server serves in this test's event loop.
        return await asyncio.to_thread(self._http, method, path, token)

    def _http(self, method: str, path: str, token: str | None) -> tuple[int, dict[str, Any]]:
        assert self.server.status is not None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.server.status.port}{path}", method=method
        )
        if token is not None:
            request.add_header("Authorization", token)
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def _obj(resource: str, body: dict[str, Any]) -> Any:
    kind = by_resource(resource)
    return from_dict(kind.message, {"apiVersion": kind.api_version, "kind": kind.kind, **body})


def _pod(name: str, node: str, secret: str) -> core_pb2.Pod:
    pod: core_pb2.Pod = _obj(
        "pods",
        {
            "metadata": {"name": name, "namespace": "team"},
            "spec": {
                "nodeName": node,
                "containers": [{"name": "c", "image": "busybox:1.35"}],
                "volumes": [{"name": "s", "secret": {"secretName": secret}}],
            },
        },
    )
    return pod


@pytest.fixture
async def cluster(etcd_clean: EtcdCluster, tmp_path: Path) -> AsyncIterator[Cluster]:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(
        "".join(f'{token},{user},{user},"{groups}"\n' for token, user, groups in TOKENS.values())
    )
    async with running_apiserver(
        etcd_clean.endpoints,
        token_auth_file=str(tokens),
        authorization_modes=("Node", "RBAC"),
        audit_log_path=str(tmp_path / "audit.log"),
    ) as server:
        clients = {
            who: ApiClient([server.endpoint], ClientOptions(token=token, max_retries=1))
            for who, (token, _, _) in TOKENS.items()
        }
        clients["anonymous"] = ApiClient([server.endpoint], ClientOptions(max_retries=1))
        clients["forger"] = ApiClient(
            [server.endpoint], ClientOptions(token="forged-token", max_retries=1)
        )
        try:
            admin = clients["admin"]
            await admin.create(_obj("namespaces", {"metadata": {"name": "team"}}))
            for name in ("s1", "s2"):
                await admin.create(
                    _obj("secrets", {"metadata": {"name": name, "namespace": "team"}})
                )
            await admin.create(_pod("p1", "n1", "s1"))
            await admin.create(_pod("p2", "n2", "s2"))
            await admin.create(
                _obj("configmaps", {"metadata": {"name": "cfg", "namespace": "team"}})
            )
            await admin.create(
                _obj(
                    "clusterrolebindings",
                    {
                        "metadata": {"name": "vera-views"},
                        "roleRef": _ref("ClusterRole", "view"),
                        "subjects": [_user("vera")],
                    },
                )
            )
            await admin.create(
                _obj(
                    "rolebindings",
                    {
                        "metadata": {"name": "eddie-edits", "namespace": "team"},
                        "roleRef": _ref("ClusterRole", "edit"),
                        "subjects": [_user("eddie")],
                    },
                )
            )
            # Admission policy of the namespace, after its pods: no Service, and no
            # container above one CPU.
            await admin.create(_obj("resourcequotas", {
                "metadata": {"name": "no-services", "namespace": "team"},
                "spec": {"hard": {"services": "0"}}}))  # fmt: skip
            await admin.create(_obj("limitranges", {
                "metadata": {"name": "one-cpu", "namespace": "team"},
                "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}}))  # fmt: skip
            # The API server reads policy through its own watch: wait until it applies.
            await _until_allowed(clients["vera"].list, "pods", "team")
            await _until_allowed(clients["eddie"].list, "configmaps", "team")
            yield Cluster(server, clients)
        finally:
            for client in clients.values():
                await client.close()


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}


def _user(name: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}


async def _until_allowed(call: Callable[..., Awaitable[Any]], *args: Any) -> None:
    from tests.support.waiting import eventually

    async def allowed() -> bool:
        try:
            await call(*args)
        except errors.Forbidden:
            return False
        return True

    await eventually(allowed, timeout=10, what=f"{args} allowed")


def _status_update(pod: Any) -> Any:
    changed = core_pb2.Pod()
    changed.CopyFrom(pod)
    changed.status.phase = "Failed"
    return changed


Attack = Callable[[Cluster], Awaitable[Any]]


async def _get(c: Cluster, who: str, resource: str, ns: str, name: str) -> Any:
    return await c.clients[who].get(resource, ns, name)


ATTACKS: list[tuple[str, type[errors.ApiError], Attack]] = [
    ("no credentials lists pods", errors.Unauthenticated,
     lambda c: c.clients["anonymous"].list("pods", "team")),
    ("a forged token reads a secret", errors.Unauthenticated,
     lambda c: _get(c, "forger", "secrets", "team", "s1")),
    ("a view user deletes a configmap", errors.Forbidden,
     lambda c: c.clients["vera"].delete("configmaps", "team", "cfg")),
    ("a view user reads a secret", errors.Forbidden,
     lambda c: _get(c, "vera", "secrets", "team", "s1")),
    ("a view user creates a pod", errors.Forbidden,
     lambda c: c.clients["vera"].create(_pod("sneaky", "n1", "s1"))),
    ("a view user binds itself to cluster-admin", errors.Forbidden,
     lambda c: c.clients["vera"].create(_obj("clusterrolebindings", {
         "metadata": {"name": "vera-admin"}, "roleRef": _ref("ClusterRole", "cluster-admin"),
         "subjects": [_user("vera")]}))),
    ("an editor writes in another namespace", errors.Forbidden,
     lambda c: c.clients["eddie"].create(
         _obj("configmaps", {"metadata": {"name": "x", "namespace": "default"}}))),
    ("an editor grants roles in its own namespace", errors.Forbidden,
     lambda c: c.clients["eddie"].create(_obj("rolebindings", {
         "metadata": {"name": "eddie-admin", "namespace": "team"},
         "roleRef": _ref("ClusterRole", "admin"), "subjects": [_user("eddie")]}))),
    ("an editor deletes the namespace", errors.Forbidden,
     lambda c: c.clients["eddie"].delete("namespaces", "", "team")),
    ("a kubelet writes another node's pod status", errors.Forbidden,
     lambda c: _steal_status(c)),
    ("a kubelet reads a secret no pod of its own uses", errors.Forbidden,
     lambda c: _get(c, "n1", "secrets", "team", "s2")),
    ("a kubelet lists every secret", errors.Forbidden,
     lambda c: c.clients["n1"].list("secrets", "team")),
    ("a kubelet creates another node", errors.Forbidden,
     lambda c: c.clients["n1"].create(_obj("nodes", {"metadata": {"name": "n2"}}))),
    ("a kubelet deletes another node's pod", errors.Forbidden,
     lambda c: c.clients["n1"].delete("pods", "team", "p2")),
    ("a kubelet makes itself cluster-admin", errors.Forbidden,
     lambda c: c.clients["n1"].create(_obj("clusterrolebindings", {
         "metadata": {"name": "n1-admin"}, "roleRef": _ref("ClusterRole", "cluster-admin"),
         "subjects": [_user("system:node:n1")]}))),
    ("the scheduler deletes a namespace", errors.Forbidden,
     lambda c: c.clients["scheduler"].delete("namespaces", "", "team")),
    ("the scheduler reads a secret", errors.Forbidden,
     lambda c: _get(c, "scheduler", "secrets", "team", "s1")),
    ("the scheduler creates a pod", errors.Forbidden,
     lambda c: c.clients["scheduler"].create(_pod("sched-pod", "n1", "s1"))),
    ("a kubelet deletes a namespace", errors.Forbidden,
     lambda c: c.clients["n1"].delete("namespaces", "", "team")),
    ("an editor reads a secret in another namespace", errors.Forbidden,
     lambda c: _get(c, "eddie", "secrets", "default", "s1")),
    ("a view user relabels a pod", errors.Forbidden,
     lambda c: _relabel(c, "vera")),
    ("admission: a privileged pod in a baseline namespace", errors.Forbidden,
     lambda c: c.clients["eddie"].create(_limited(_pod("priv", "n1", "s1"), privileged=True))),
    ("admission: a hostPath volume in a baseline namespace", errors.Forbidden,
     lambda c: c.clients["eddie"].create(_with_host_path(_limited(_pod("hp", "n1", "s1"))))),
    ("admission: a pod above the namespace's LimitRange", errors.Forbidden,
     lambda c: c.clients["eddie"].create(_limited(_pod("hungry", "n1", "s1"), cpu="2"))),
    ("admission: a Service over the namespace quota", errors.Forbidden,
     lambda c: c.clients["eddie"].create(_obj("services", {
         "metadata": {"name": "web", "namespace": "team"},
         "spec": {"ports": [{"port": 80}]}}))),
]  # fmt: skip


def _limited(pod: core_pb2.Pod, *, cpu: str = "500m", privileged: bool = False) -> core_pb2.Pod:
    """The pod with a CPU limit (the LimitRange wants one), privileged if asked."""
    for c in pod.spec.containers:
        c.resources.limits["cpu"] = cpu
        if privileged:
            c.security_context.privileged = True
    return pod


def _with_host_path(pod: core_pb2.Pod) -> core_pb2.Pod:
    volume = pod.spec.volumes.add(name="root")
    volume.host_path.path = "/"
    return pod


async def _relabel(c: Cluster, who: str) -> Any:
    pod = await c.admin.get("pods", "team", "p1")
    pod.metadata.labels["owned-by"] = who
    return await c.clients[who].update(pod)


async def _steal_status(c: Cluster) -> Any:
    pod = await c.admin.get("pods", "team", "p2")
    return await c.clients["n1"].update_status(_status_update(pod))


async def _snapshot(c: Cluster) -> list[tuple[str, str, str]]:
    found = []
    for resource in ("namespaces", "nodes", "pods", "secrets", "configmaps", "services",
                     "rolebindings", "clusterrolebindings"):  # fmt: skip
        listed = await c.admin.list(resource)
        for obj in listed.items:
            found.append((resource, obj.metadata.name, obj.metadata.resource_version))
    return sorted(found)


@pytest.mark.parametrize(("what", "refusal", "attack"), ATTACKS, ids=[a[0] for a in ATTACKS])
async def test_an_attack_is_refused_with_its_code_and_writes_nothing(
    cluster: Cluster, what: str, refusal: type[errors.ApiError], attack: Attack
):
    before = await _snapshot(cluster)
    with pytest.raises(refusal) as raised:
        await attack(cluster)
    assert await _snapshot(cluster) == before, f"{what} wrote something"
    if refusal is errors.Forbidden and not what.startswith("admission:"):
        assert "User " in raised.value.message and "cannot" in raised.value.message
    elif what.startswith("admission:"):
        assert "is forbidden" in raised.value.message


async def test_the_legitimate_requests_beside_the_attacks_are_allowed(cluster: Cluster):
    n1 = cluster.clients["n1"]
    assert (await n1.get("secrets", "team", "s1")).metadata.name == "s1"
    pod = await cluster.admin.get("pods", "team", "p1")
    assert (await n1.update_status(_status_update(pod))).status.phase == "Failed"
    assert len((await cluster.clients["vera"].list("pods", "team")).items) == 2
    await cluster.clients["eddie"].create(
        _obj("configmaps", {"metadata": {"name": "mine", "namespace": "team"}})
    )
    await n1.create(_obj("nodes", {"metadata": {"name": "n1"}}))


async def test_a_forbidden_message_names_the_user_the_verb_and_the_resource(cluster: Cluster):
    with pytest.raises(errors.Forbidden) as raised:
        await cluster.clients["vera"].delete("configmaps", "team", "cfg")
    assert raised.value.message.startswith(
        'configmaps "cfg" is forbidden: User "vera" cannot delete resource "configmaps" '
        'in API group "" in the namespace "team"'
    )


async def test_over_http_no_token_is_401_and_a_view_user_deleting_is_403(cluster: Cluster):
    code, status = await cluster.http("GET", "/api/v1/namespaces/team/pods", None)
    assert (code, status["reason"]) == (401, "Unauthorized")
    code, status = await cluster.http("GET", "/api/v1/namespaces/team/pods", "Basic dmVyYQ==")
    assert code == 401
    code, status = await cluster.http(
        "DELETE", "/api/v1/namespaces/team/configmaps/cfg", "Bearer vera-token"
    )
    assert (code, status["reason"]) == (403, "Forbidden")
    assert 'User "vera" cannot delete' in status["message"]
    code, listed = await cluster.http("GET", "/api/v1/namespaces/team/pods", "Bearer vera-token")
    assert code == 200 and len(listed["items"]) == 2
    code, _ = await cluster.http("GET", "/api", None)
    assert code == 401, "discovery needs an authenticated user"
    assert (await cluster.http("GET", "/api", "Bearer vera-token"))[0] == 200


async def test_a_new_binding_takes_effect_and_its_removal_revokes(cluster: Cluster):
    vera = cluster.clients["vera"]
    with pytest.raises(errors.Forbidden):
        await vera.get("secrets", "team", "s1")
    binding = _obj(
        "rolebindings",
        {
            "metadata": {"name": "vera-secrets", "namespace": "team"},
            "roleRef": _ref("ClusterRole", "edit"),
            "subjects": [_user("vera")],
        },
    )
    await cluster.admin.create(binding)
    await _until_allowed(vera.get, "secrets", "team", "s1")
    await cluster.admin.delete("rolebindings", "team", "vera-secrets")

    from tests.support.waiting import eventually

    async def revoked() -> bool:
        try:
            await vera.get("secrets", "team", "s1")
        except errors.Forbidden:
            return True
        return False

    await eventually(revoked, timeout=10, what="the binding's removal applied")
    assert isinstance(rbac_pb2.RoleBinding(), rbac_pb2.RoleBinding)


async def _review(cluster: Cluster, token: str, request: Any) -> Any:
    import grpc

    from client.credentials import token_interceptors
    from proto import auth_pb2_grpc

    async with grpc.aio.insecure_channel(
        cluster.server.endpoint, interceptors=token_interceptors(token)
    ) as channel:
        stub = auth_pb2_grpc.AuthStub(channel)  # type: ignore[no-untyped-call]
        return await stub.Review(request, timeout=10)


async def test_an_access_review_answers_as_the_authorizer_would_and_only_admins_ask_for_others(
    cluster: Cluster,
):
    from proto import auth_pb2

    def asking(verb: str, resource: str, user: str = "") -> auth_pb2.AccessReviewRequest:
        attrs = auth_pb2.ResourceAttributes(verb=verb, resource=resource, namespace="team")
        return auth_pb2.AccessReviewRequest(user=user, resource_attributes=attrs)

    assert (await _review(cluster, "vera-token", asking("list", "pods"))).allowed
    refused = await _review(cluster, "vera-token", asking("delete", "configmaps"))
    assert not refused.allowed and refused.user == "vera"
    about_vera = await _review(cluster, "admin-token", asking("get", "secrets", user="vera"))
    assert not about_vera.allowed and about_vera.user == "vera"
    import grpc

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _review(cluster, "vera-token", asking("get", "secrets", user="eddie"))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_every_request_is_audited_with_its_user_and_outcome_and_no_body(
    cluster: Cluster, tmp_path: Path
):
    secret = _obj("secrets", {"metadata": {"name": "pw", "namespace": "team"}})
    secret.data["password"] = b"hunter2-plaintext"
    await cluster.admin.create(secret)
    with pytest.raises(errors.Forbidden):
        await cluster.clients["vera"].delete("configmaps", "team", "cfg")
    await cluster.clients["vera"].list("pods", "team")
    await cluster.http("GET", "/api/v1/namespaces/team/pods", None)
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]

    def found(**fields: Any) -> bool:
        return any(all(e.get(k) == v for k, v in fields.items()) for e in lines)

    assert found(user="vera", verb="delete", resource="configmaps", name="cfg",
                 code="PERMISSION_DENIED", allowed=False, frontend="grpc")  # fmt: skip
    assert found(user="vera", verb="list", resource="pods", namespace="team", code="OK")
    assert found(user="admin", verb="create", resource="secrets", code="OK")
    assert found(frontend="http", verb="list", resource="pods", code="UNAUTHENTICATED", user="")
    assert all(e["latency_ms"] >= 0 and e["timestamp"] for e in lines)
    assert "hunter2" not in (tmp_path / "audit.log").read_text()


async def _token_for(c: Cluster, namespace: str, name: str) -> str:
    async with grpc.aio.insecure_channel(c.server.endpoint) as channel:
        stub = auth_pb2_grpc.AuthStub(channel)  # type: ignore[no-untyped-call]
        answer = await stub.CreateToken(
            auth_pb2.TokenRequest(namespace=namespace, service_account=name),
            metadata=((AUTHORIZATION, f"Bearer {TOKENS['admin'][0]}"),),
        )
    return str(answer.token)


async def test_a_token_request_over_grpc_is_counted_and_audited(cluster: Cluster, tmp_path: Path):
    def counted() -> float:
        labels = {"verb": "create", "resource": "serviceaccounts", "code": "OK"}
        value = cluster.server.metrics.registry.get_sample_value(
            "tugboat_apiserver_requests_total", labels
        )
        return value or 0.0

    before = counted()
    await _token_for(cluster, "team", "default")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _token_for(cluster, "team", "nobody")
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert counted() == before + 1
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    tokens = [
        (e["user"], e["namespace"], e["name"], e["code"])
        for e in lines
        if e["resource"] == "serviceaccounts" and e["subresource"] == "token"
    ]
    assert tokens == [("admin", "team", "default", "OK"), ("admin", "team", "nobody", "NOT_FOUND")]


async def test_a_service_account_token_is_its_identity_under_rbac_until_the_account_goes(
    cluster: Cluster,
):
    token = await _token_for(cluster, "team", "default")
    client = ApiClient([cluster.server.endpoint], ClientOptions(token=token, max_retries=1))
    try:
        with pytest.raises(errors.Forbidden) as refused:
            await client.list("pods", "team")
        assert "system:serviceaccount:team:default" in refused.value.message
        await cluster.admin.create(_obj("rolebindings", {
            "metadata": {"name": "sa-views", "namespace": "team"},
            "roleRef": _ref("ClusterRole", "view"),
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team"}],
        }))  # fmt: skip
        await _until_allowed(client.list, "pods", "team")
        with pytest.raises(errors.Forbidden):
            await client.list("pods", "default")  # the binding is for its own namespace
        await cluster.admin.delete("serviceaccounts", "team", "default")
        with pytest.raises(errors.Unauthenticated, match="no longer exists"):
            await client.list("pods", "team")
    finally:
        await client.close()
