"""Acting as someone else over REST, as kubectl's `--as`, `--as-group` and `--as-uid` send
it, on a real API server with tokens and RBAC: the caller must be allowed to
`impersonate` each thing it asks to be, and the request then runs wholly as that user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from master.apiserver.server import ApiServer
from tests.support.apiserver import running_apiserver

WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def call(
    server: ApiServer,
    method: str,
    path: str,
    token: str,
    body: Any = None,
    **impersonate: str | list[str],
) -> tuple[int, Any]:
    """A request with kubectl's headers: user, group (one header each), uid."""
    assert server.status is not None
    headers: list[tuple[str, str]] = [("Authorization", f"Bearer {token}")]
    for field, value in impersonate.items():
        for one in [value] if isinstance(value, str) else value:
            headers.append((f"Impersonate-{field.capitalize()}", one))
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method, f"http://127.0.0.1:{server.status.port}{path}", json=body, headers=headers
        ) as resp:
            return resp.status, await resp.json()


async def whoami(server: ApiServer, token: str, **impersonate: str | list[str]) -> Any:
    code, answer = await call(server, "POST", WHOAMI, token, {}, **impersonate)
    assert code == 201, answer
    return answer["status"]["userInfo"]


async def test_the_admin_acts_as_bob_and_is_then_judged_as_bob(secured: ApiServer):
    me = await whoami(secured, "admin-token", user="bob", group=["devs", "ops"])
    assert me["username"] == "bob"
    assert me["groups"] == ["devs", "ops", "system:authenticated"]

    code, refused = await call(secured, "GET", CONFIGMAPS, "admin-token", user="bob")
    assert code == 403
    assert refused["message"] == (
        'configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group '
        '"" in the namespace "default"'
    )
    code, _ = await call(secured, "GET", CONFIGMAPS, "admin-token")
    assert code == 200


async def test_a_service_account_is_impersonated_with_its_groups(secured: ApiServer):
    me = await whoami(secured, "admin-token", user="system:serviceaccount:team:robot")
    assert me["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:team",
        "system:authenticated",
    ]


async def test_a_caller_without_impersonate_is_refused_naming_what_it_asked(secured: ApiServer):
    code, refused = await call(secured, "GET", CONFIGMAPS, "eddie-token", user="bob")
    assert code == 403
    assert refused["message"] == (
        'users "bob" is forbidden: User "eddie" cannot impersonate resource "users" in API '
        'group "" at the cluster scope'
    )


async def test_rbac_grants_impersonating_named_users_and_groups_only(secured: ApiServer):
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "impersonate-bob"},
        "rules": [
            {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"],
             "resourceNames": ["bob"]},
            {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"],
             "resourceNames": ["devs"]},
        ],
    }  # fmt: skip
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "eddie-as-bob"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "impersonate-bob"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "eddie"}],
    }  # fmt: skip
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    for path, body in ((f"{rbac}/clusterroles", role), (f"{rbac}/clusterrolebindings", binding)):
        code, answer = await call(secured, "POST", path, "admin-token", body)
        assert code == 201, answer

    me = await whoami(secured, "eddie-token", user="bob", group="devs")
    assert (me["username"], me["groups"]) == ("bob", ["devs", "system:authenticated"])
    code, refused = await call(secured, "POST", WHOAMI, "eddie-token", {}, user="carol")
    assert code == 403 and 'users "carol" is forbidden' in refused["message"]
    code, refused = await call(
        secured, "POST", WHOAMI, "eddie-token", {}, user="bob", group="system:masters"
    )
    assert code == 403
    assert refused["message"].startswith(
        'groups "system:masters" is forbidden: User "eddie" cannot impersonate resource "groups"'
    )


async def test_a_group_without_a_user_is_a_bad_request(secured: ApiServer):
    code, refused = await call(secured, "GET", CONFIGMAPS, "admin-token", group="devs")
    assert code == 400
    assert refused["message"] == "requested Impersonate-Group without impersonating a user"


async def test_the_metrics_api_judges_the_impersonated_user(secured: ApiServer):
    top = "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"
    code, _ = await call(secured, "GET", top, "admin-token")
    assert code == 200
    code, refused = await call(secured, "GET", top, "admin-token", user="bob")
    assert code == 403
    assert refused["message"] == (
        'pods.metrics.k8s.io is forbidden: User "bob" cannot list resource "pods" in API '
        'group "metrics.k8s.io" in the namespace "default"'
    )


async def test_the_servers_own_metrics_judge_the_impersonated_user(
    etcd_clean: Any, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\n')
    async with running_apiserver(
        etcd_clean.endpoints,
        token_auth_file=str(tokens),
        authorization_modes=("RBAC",),
        anonymous_metrics=False,
    ) as server:
        assert server.status is not None
        refused = await _metrics_as_admin_then_bob(f"http://127.0.0.1:{server.status.port}")
    assert refused["message"] == 'forbidden: User "bob" cannot get path "/metrics"'


async def _metrics_as_admin_then_bob(base: str) -> Any:
    """/metrics read as the admin (200), then as the admin acting as bob: bob's refusal."""
    url = f"{base}/metrics"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Authorization": "Bearer admin-token"}) as resp:
            assert resp.status == 200
        as_bob = {"Authorization": "Bearer admin-token", "Impersonate-User": "bob"}
        async with session.get(url, headers=as_bob) as resp:
            assert resp.status == 403
            return await resp.json()
