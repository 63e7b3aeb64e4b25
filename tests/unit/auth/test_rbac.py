"""RBAC: which bindings grant what, wildcards, aggregation, and the escalation check."""

from __future__ import annotations

import pytest

from client import errors
from master.apiserver.auth import bootstrap_policy
from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.auth.rbac import PolicyIndex, RbacAuthorizer
from master.apiserver.auth.rules import uncovered
from master.apiserver.auth.user import UserInfo
from proto import rbac_pb2

ALICE = UserInfo("alice", ("dev", "system:authenticated"))
BOB = UserInfo("bob", ("system:authenticated",))
SA = UserInfo(
    "system:serviceaccount:team:builder",
    ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"),
)


def role(name: str, *rules: rbac_pb2.PolicyRule, namespace: str = "team") -> rbac_pb2.Role:
    r = rbac_pb2.Role(kind="Role", rules=rules)
    r.metadata.name, r.metadata.namespace = name, namespace
    return r


def binding(
    name: str, ref_kind: str, ref: str, *subjects: tuple[str, str, str], namespace: str = "team"
) -> rbac_pb2.RoleBinding:
    b = rbac_pb2.RoleBinding(kind="RoleBinding")
    b.metadata.name, b.metadata.namespace = name, namespace
    b.role_ref.kind, b.role_ref.name = ref_kind, ref
    for kind, subject, ns in subjects:
        b.subjects.add(kind=kind, name=subject, namespace=ns)
    return b


def cluster_binding(name: str, ref: str, *subjects: tuple[str, str]) -> rbac_pb2.ClusterRoleBinding:
    b = rbac_pb2.ClusterRoleBinding(kind="ClusterRoleBinding")
    b.metadata.name = name
    b.role_ref.kind, b.role_ref.name = "ClusterRole", ref
    for kind, subject in subjects:
        b.subjects.add(kind=kind, name=subject)
    return b


def defaults() -> PolicyIndex:
    index = PolicyIndex()
    for obj in (*bootstrap_policy.cluster_roles(), *bootstrap_policy.cluster_role_bindings()):
        index.put(obj)
    return index


def allowed(index: PolicyIndex, user: UserInfo, verb: str, resource: str, namespace: str = "team",
            name: str = "", group: str = "", sub: str = "") -> bool:
    a = Attributes(user, verb, resource, sub, group, namespace, name)
    return RbacAuthorizer(index).authorize(a).allowed


def rule(verbs, groups, resources, names=()) -> rbac_pb2.PolicyRule:
    return rbac_pb2.PolicyRule(verbs=verbs, api_groups=groups, resources=resources,
                               resource_names=names)


def test_a_role_binding_grants_its_role_in_its_namespace_only():
    index = PolicyIndex()
    index.put(role("reader", rule(["get", "list"], [""], ["pods"])))
    index.put(binding("alice-reads", "Role", "reader", ("User", "alice", "")))
    assert allowed(index, ALICE, "list", "pods")
    assert not allowed(index, ALICE, "list", "pods", namespace="other")
    assert not allowed(index, ALICE, "delete", "pods")
    assert not allowed(index, BOB, "list", "pods")


def test_a_group_subject_grants_every_member():
    index = PolicyIndex()
    index.put(role("reader", rule(["get"], [""], ["configmaps"])))
    index.put(binding("dev-reads", "Role", "reader", ("Group", "dev", "")))
    assert allowed(index, ALICE, "get", "configmaps")
    assert not allowed(index, BOB, "get", "configmaps")


def test_a_service_account_subject_defaults_to_the_bindings_namespace():
    index = PolicyIndex()
    index.put(role("lister", rule(["list"], [""], ["pods"])))
    index.put(binding("sa", "Role", "lister", ("ServiceAccount", "builder", "")))
    assert allowed(index, SA, "list", "pods")


def test_resource_names_limit_a_rule_to_those_objects():
    index = PolicyIndex()
    index.put(role("one", rule(["get"], [""], ["secrets"], ["db-password"])))
    index.put(binding("b", "Role", "one", ("User", "alice", "")))
    assert allowed(index, ALICE, "get", "secrets", name="db-password")
    assert not allowed(index, ALICE, "get", "secrets", name="tls-key")


def test_wildcards_and_subresources():
    index = PolicyIndex()
    index.put(role("status", rule(["update"], ["*"], ["*/status"]),
                   rule(["get"], ["apps"], ["deployments/*"])))
    index.put(binding("b", "Role", "status", ("User", "alice", "")))
    assert allowed(index, ALICE, "update", "pods", sub="status")
    assert not allowed(index, ALICE, "update", "pods")
    assert allowed(index, ALICE, "get", "deployments", group="apps", sub="scale")
    assert not allowed(index, ALICE, "get", "deployments", group="", sub="scale")


def test_a_role_binding_may_grant_a_cluster_role_in_its_namespace():
    index = defaults()
    index.put(binding("alice-view", "ClusterRole", "view", ("User", "alice", "")))
    assert allowed(index, ALICE, "list", "pods")
    assert allowed(index, ALICE, "get", "deployments", group="apps")
    assert not allowed(index, ALICE, "list", "pods", namespace="kube-system")


def test_view_reads_but_never_secrets_nor_writes():
    index = defaults()
    index.put(binding("v", "ClusterRole", "view", ("User", "alice", "")))
    assert not allowed(index, ALICE, "get", "secrets")
    assert not allowed(index, ALICE, "delete", "pods")


def test_edit_writes_workloads_and_secrets_but_not_roles():
    index = defaults()
    index.put(binding("e", "ClusterRole", "edit", ("User", "alice", "")))
    assert allowed(index, ALICE, "create", "deployments", group="apps")
    assert allowed(index, ALICE, "get", "secrets")
    assert allowed(index, ALICE, "list", "pods")  # view's rules are aggregated into edit
    assert not allowed(index, ALICE, "create", "rolebindings", group="rbac.authorization.k8s.io")


def test_admin_manages_roles_in_its_namespace():
    index = defaults()
    index.put(binding("a", "ClusterRole", "admin", ("User", "alice", "")))
    assert allowed(index, ALICE, "create", "rolebindings", group="rbac.authorization.k8s.io")
    assert allowed(index, ALICE, "delete", "pods")


def test_a_new_aggregated_role_extends_admin_edit_and_view():
    index = defaults()
    index.put(binding("v", "ClusterRole", "view", ("User", "alice", "")))
    extra = rbac_pb2.ClusterRole(kind="ClusterRole", rules=[rule(["get"], ["example.com"],
                                                                  ["widgets"])])
    extra.metadata.name = "widgets-view"
    extra.metadata.labels["rbac.authorization.k8s.io/aggregate-to-view"] = "true"
    assert not allowed(index, ALICE, "get", "widgets", group="example.com")
    index.put(extra)
    assert allowed(index, ALICE, "get", "widgets", group="example.com")


def test_removing_a_binding_takes_its_grant_away():
    index = PolicyIndex()
    index.put(role("reader", rule(["get"], [""], ["pods"])))
    index.put(binding("b", "Role", "reader", ("User", "alice", "")))
    assert allowed(index, ALICE, "get", "pods")
    index.remove("RoleBinding", "team", "b")
    assert not allowed(index, ALICE, "get", "pods")


def test_a_binding_to_a_missing_role_grants_nothing():
    index = PolicyIndex()
    index.put(binding("b", "Role", "nope", ("User", "alice", "")))
    assert not allowed(index, ALICE, "get", "pods")


def test_components_have_their_own_roles():
    index = defaults()
    scheduler = UserInfo("system:kube-scheduler", ("system:authenticated",))
    proxy = UserInfo("system:kube-proxy", ("system:authenticated",))
    assert allowed(index, scheduler, "update", "pods", sub="status")
    assert not allowed(index, scheduler, "create", "secrets")
    assert allowed(index, proxy, "watch", "endpoints", namespace="")
    # The proxy is the ingress controller too: it reads the TLS Secrets Ingresses name.
    assert allowed(index, proxy, "watch", "secrets", namespace="")
    assert not allowed(index, proxy, "create", "secrets", namespace="default")
    assert allowed(index, proxy, "list", "ingresses", namespace="", group="networking.k8s.io")


async def test_the_superuser_group_passes_and_a_refusal_names_user_verb_and_resource():
    authorizer = Authorizer(RbacAuthorizer(PolicyIndex()))
    admin = UserInfo("admin", ("system:masters",))
    await authorizer.authorize(Attributes(admin, "delete", "nodes", name="n1"))
    with pytest.raises(errors.Forbidden) as refused:
        await authorizer.authorize(Attributes(BOB, "delete", "pods", namespace="team", name="web"))
    assert refused.value.message == (
        'pods "web" is forbidden: User "bob" cannot delete resource "pods" in API group "" '
        'in the namespace "team"'
    )


def test_uncovered_lists_what_the_owner_cannot_grant():
    owned = [rule(["get", "list"], [""], ["pods"])]
    assert uncovered(owned, [rule(["get"], [""], ["pods"])]) == []
    assert uncovered(owned, [rule(["delete"], [""], ["pods"])]) == ["delete pods"]
    assert uncovered(owned, [rule(["get"], ["*"], ["*"])]) == ["get *.*"]
    assert uncovered([rule(["*"], ["*"], ["*"])], [rule(["get"], ["*"], ["*"])]) == []
    named = [rule(["get"], [""], ["secrets"], ["a"])]
    assert uncovered(named, [rule(["get"], [""], ["secrets"], ["a"])]) == []
    assert uncovered(named, [rule(["get"], [""], ["secrets"])]) == ["get secrets"]
