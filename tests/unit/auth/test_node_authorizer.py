"""The node authorizer: a kubelet reaches its own objects and what its pods use, only."""

from __future__ import annotations

import pytest

from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.graph import PodGraph, PodRefs, references
from master.apiserver.auth.node import NodeAuthorizer
from master.apiserver.auth.user import UserInfo
from proto import core_pb2

N1 = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))


def pod(name: str, node: str, *, secret: str = "", configmap: str = "", env_secret: str = "",
        sa: str = "") -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name, p.metadata.namespace, p.metadata.uid = name, "team", f"uid-{name}"
    p.spec.node_name = node
    p.spec.service_account_name = sa
    c = p.spec.containers.add(name="app", image="busybox:1.35")
    if secret:
        p.spec.volumes.add(name="s").secret.secret_name = secret
    if configmap:
        p.spec.volumes.add(name="c").config_map.name = configmap
    if env_secret:
        c.env.add(name="PW").value_from.secret_key_ref.name = env_secret
    return p


def graph(*pods: core_pb2.Pod) -> PodGraph:
    g = PodGraph()
    for p in pods:
        g.put(p)
    return g


async def decide(authorizer: NodeAuthorizer, verb: str, resource: str, *, name: str = "",
                 namespace: str = "team", sub: str = "", group: str = "",
                 selector: str = "") -> bool:
    a = Attributes(N1, verb, resource, sub, group, namespace, name, field_selector=selector)
    return (await authorizer.authorize(a)).allowed


@pytest.mark.parametrize(
    ("verb", "resource", "name", "namespace", "group", "sub", "expected"),
    [
        ("update", "nodes", "n1", "", "", "status", True),
        ("update", "nodes", "n2", "", "", "status", False),
        ("create", "nodes", "n1", "", "", "", True),
        ("delete", "nodes", "n1", "", "", "", False),
        ("list", "nodes", "", "", "", "", True),
        ("update", "leases", "n1", "kube-node-lease", "coordination.k8s.io", "", True),
        ("update", "leases", "n2", "kube-node-lease", "coordination.k8s.io", "", False),
        ("update", "leases", "n1", "kube-system", "coordination.k8s.io", "", False),
        ("create", "pods", "x", "team", "", "", False),
        ("update", "pods", "web", "team", "", "", False),
        ("list", "secrets", "", "team", "", "", False),
        ("create", "deployments", "d", "team", "apps", "", False),
        ("list", "services", "", "", "", "", True),
        ("get", "runtimeclasses", "kata", "", "node.k8s.io", "", True),
        ("watch", "runtimeclasses", "", "", "node.k8s.io", "", True),
        ("update", "runtimeclasses", "kata", "", "node.k8s.io", "", False),
    ],
)
async def test_own_objects_only(verb, resource, name, namespace, group, sub, expected):
    authorizer = NodeAuthorizer(graph())
    got = await decide(authorizer, verb, resource, name=name, namespace=namespace, group=group,
                       sub=sub)
    assert got is expected


async def test_pods_may_be_listed_only_by_their_node():
    authorizer = NodeAuthorizer(graph())
    assert await decide(authorizer, "watch", "pods", namespace="", selector="spec.nodeName=n1")
    assert not await decide(authorizer, "watch", "pods", namespace="")
    assert not await decide(authorizer, "list", "pods", namespace="", selector="spec.nodeName=n2")


async def test_secrets_and_configmaps_only_of_its_own_pods():
    authorizer = NodeAuthorizer(graph(
        pod("mine", "n1", secret="db", configmap="conf", env_secret="pw"),
        pod("theirs", "n2", secret="other"),
    ))
    assert await decide(authorizer, "get", "secrets", name="db")
    assert await decide(authorizer, "get", "secrets", name="pw")
    assert await decide(authorizer, "get", "configmaps", name="conf")
    assert not await decide(authorizer, "get", "secrets", name="other")
    assert not await decide(authorizer, "get", "secrets", name="db", namespace="elsewhere")


async def test_secrets_and_configmaps_of_its_pods_projected_volumes_too():
    projecting = pod("mine", "n1")
    sources = projecting.spec.volumes.add(name="all").projected.sources
    sources.add().secret.name = "projected-secret"
    sources.add().config_map.name = "projected-conf"
    authorizer = NodeAuthorizer(graph(projecting))
    assert await decide(authorizer, "get", "secrets", name="projected-secret")
    assert await decide(authorizer, "get", "configmaps", name="projected-conf")
    assert not await decide(authorizer, "get", "secrets", name="projected-conf")


async def test_the_pull_secrets_of_its_pods_too():
    pulling = pod("mine", "n1")
    pulling.spec.image_pull_secrets.add(name="regcred")
    authorizer = NodeAuthorizer(graph(pulling, pod("theirs", "n2")))
    assert await decide(authorizer, "get", "secrets", name="regcred")
    assert not await decide(authorizer, "get", "secrets", name="regcred", namespace="other")


async def test_a_pod_moving_away_takes_its_secrets_with_it():
    g = graph(pod("mine", "n1", secret="db"))
    authorizer = NodeAuthorizer(g)
    assert await decide(authorizer, "get", "secrets", name="db")
    g.remove("team", "mine")
    assert not await decide(authorizer, "get", "secrets", name="db")


async def test_a_pod_the_graph_has_not_seen_yet_is_checked_against_the_store():
    stored = pod("new", "n1", secret="fresh")
    asked: list[tuple[str, str]] = []

    async def lookup(node: str, namespace: str) -> dict[str, PodRefs]:
        asked.append((node, namespace))
        return {"new": references(stored)}

    authorizer = NodeAuthorizer(graph(), lookup)
    assert await decide(authorizer, "get", "secrets", name="fresh")
    assert await decide(authorizer, "get", "pods", name="new")
    assert not await decide(authorizer, "get", "secrets", name="stale")
    assert asked == [("n1", "team")] * 3


async def test_tokens_only_for_service_accounts_its_pods_run_as():
    authorizer = NodeAuthorizer(graph(pod("mine", "n1", sa="builder")))
    assert await decide(authorizer, "create", "serviceaccounts", name="builder", sub="token")
    assert not await decide(authorizer, "create", "serviceaccounts", name="admin", sub="token")


async def test_no_opinion_on_users_that_are_not_nodes():
    alice = UserInfo("alice", ("system:authenticated",))
    decision = await NodeAuthorizer(graph()).authorize(Attributes(alice, "get", "secrets"))
    assert not decision.allowed and not decision.opinion
