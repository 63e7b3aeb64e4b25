from master.apiserver.auth.impersonation import checks, running_as
from master.apiserver.auth.user import UserInfo

ADMIN = UserInfo("admin", ("system:masters",))


def test_each_part_of_the_identity_asked_is_its_own_impersonate_question() -> None:
    asked = UserInfo("bob", ("devs",), "u-1", {"scopes": ("view", "edit")})

    found = [(a.resource, a.subresource, a.api_group, a.name) for a in checks(ADMIN, asked)]

    assert found == [
        ("users", "", "", "bob"),
        ("groups", "", "", "devs"),
        ("userextras", "scopes", "authentication.k8s.io", "view"),
        ("userextras", "scopes", "authentication.k8s.io", "edit"),
        ("uids", "", "authentication.k8s.io", "u-1"),
    ]
    assert {(a.user.name, a.verb) for a in checks(ADMIN, asked)} == {("admin", "impersonate")}


def test_a_service_account_is_asked_for_as_that_object_in_its_namespace() -> None:
    [check] = checks(ADMIN, UserInfo("system:serviceaccount:team:robot"))
    assert (check.resource, check.namespace, check.name) == ("serviceaccounts", "team", "robot")


def test_the_user_run_as_gets_the_groups_kubernetes_adds_once() -> None:
    robot = running_as(UserInfo("system:serviceaccount:team:robot", ("system:authenticated",)))
    assert robot.groups == (
        "system:authenticated",
        "system:serviceaccounts",
        "system:serviceaccounts:team",
    )
    anonymous = running_as(UserInfo("system:anonymous"))
    assert anonymous.groups == ("system:unauthenticated",)
