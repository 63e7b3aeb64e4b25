"""`kubectl auth can-i` and `whoami` over REST, on a real API server with tokens and RBAC:
a review answers for the caller by the authorizer that judges real requests, a review
about someone else is the admin's to ask, and nothing is stored."""

from __future__ import annotations

from typing import Any

import aiohttp

from master.apiserver.server import ApiServer

SELF_ACCESS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
ACCESS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


async def post(server: ApiServer, path: str, token: str, body: Any) -> tuple[int, Any]:
    assert server.status is not None
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"http://127.0.0.1:{server.status.port}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            return resp.status, await resp.json()


def may(verb: str, resource: str, namespace: str = "default", **more: str) -> dict[str, Any]:
    attrs = {"verb": verb, "resource": resource, "namespace": namespace, **more}
    return {"spec": {"resourceAttributes": attrs}}


async def test_a_self_review_answers_for_the_caller_and_is_not_stored(secured: ApiServer):
    code, answer = await post(secured, SELF_ACCESS, "admin-token", may("delete", "pods"))
    assert code == 201
    assert answer["kind"] == "SelfSubjectAccessReview"
    assert answer["apiVersion"] == "authorization.k8s.io/v1"
    assert answer["spec"]["resourceAttributes"]["verb"] == "delete"
    assert answer["status"]["allowed"] is True
    code, answer = await post(secured, SELF_ACCESS, "eddie-token", may("get", "secrets"))
    assert code == 201
    assert answer["status"]["allowed"] is False
    code, answer = await post(
        secured,
        SELF_ACCESS,
        "eddie-token",
        {"spec": {"nonResourceAttributes": {"verb": "get", "path": "/version"}}},
    )
    assert answer["status"]["allowed"] is True  # public info, as in Kubernetes
    status, _ = await post(secured, SELF_ACCESS, "wrong-token", may("get", "pods"))
    assert status == 401


async def test_only_the_admin_may_ask_about_someone_else(secured: ApiServer):
    about_eddie = may("list", "pods") | {}
    about_eddie["spec"] = {**about_eddie["spec"], "user": "eddie"}
    code, refused = await post(secured, ACCESS, "eddie-token", about_eddie)
    assert code == 403
    assert 'cannot create resource "subjectaccessreviews"' in refused["message"]
    code, answer = await post(secured, ACCESS, "admin-token", about_eddie)
    assert code == 201
    assert answer["kind"] == "SubjectAccessReview"
    assert answer["status"]["allowed"] is False


async def test_whoami_names_the_callers_user_and_groups(secured: ApiServer):
    code, answer = await post(secured, WHOAMI, "eddie-token", {})
    assert code == 201
    assert answer["kind"] == "SelfSubjectReview"
    info = answer["status"]["userInfo"]
    assert info["username"] == "eddie"
    assert "system:authenticated" in info["groups"]


async def test_a_review_asking_neither_or_both_attribute_sets_names_the_field(
    secured: ApiServer,
):
    both = may("get", "pods")
    both["spec"]["nonResourceAttributes"] = {"verb": "get", "path": "/version"}
    bodies: list[dict[str, Any]] = [{"spec": {}}, both]
    for body in bodies:
        code, answer = await post(secured, SELF_ACCESS, "eddie-token", body)
        assert code == 422, answer
        assert "spec.resourceAttributes" in answer["message"]
