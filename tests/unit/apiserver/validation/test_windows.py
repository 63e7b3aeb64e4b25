"""Validation of Windows options (validation/windows.py): stored for Windows nodes,
checked in Kubernetes' words wherever a pod or template carries them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.apiserver.validation.cases import (
    C0,
    RFC1123_SUBDOMAIN,
    TC0,
    Case,
    assert_named,
    container,
    errors_of,
    invalid_params,
)

POD_OPTS = "spec.securityContext.windowsOptions"
C0_OPTS = f"{C0}.securityContext.windowsOptions"


def _as(user: str) -> dict[str, Any]:
    return {"spec.securityContext": {"windowsOptions": {"runAsUserName": user}}}


def _host(pod: bool | None, *containers: bool | None) -> dict[str, Any]:
    changes: dict[str, Any] = {"spec.containers": [
        {"name": f"c{i}", "image": "busybox:1.35"}
        | ({} if v is None else {"securityContext": {"windowsOptions": {"hostProcess": v}}})
        for i, v in enumerate(containers)
    ]}  # fmt: skip
    if pod is not None:
        changes["spec.securityContext"] = {"windowsOptions": {"hostProcess": pod}}
    return changes


CASES: list[Case] = [
    ("Pod", _as(""), f'{POD_OPTS}.runAsUserName: Invalid value: "": runAsUserName cannot '
     "be an empty string", "an empty user name"),
    ("Pod", _as("a\\b\\c"), "runAsUserName cannot contain more than one backslash",
     "two backslashes"),
    ("Pod", _as("user\x07"), "runAsUserName cannot contain control characters",
     "a control character"),
    ("Pod", _as("DOMAIN\\"), "runAsUserName's User cannot be empty", "a domain alone"),
    ("Pod", _as("u" * 105), "runAsUserName's User length must not be longer than 104 "
     "characters", "a long user"),
    ("Pod", _as("us@er"), "runAsUserName's User cannot contain the following characters",
     "a forbidden character"),
    ("Pod", _as(". ."), "runAsUserName's User cannot contain only periods or spaces",
     "only periods and spaces"),
    ("Pod", _as("do:main\\user"), "runAsUserName's Domain doesn't match the NetBios nor "
     "the DNS format", "a domain of neither format"),
    ("Pod", {"spec.containers": container(securityContext={"windowsOptions": {
        "gmsaCredentialSpecName": "Not_A_Name"}})},
     f'{C0_OPTS}.gmsaCredentialSpecName: Invalid value: "Not_A_Name": {RFC1123_SUBDOMAIN}',
     "a gMSA spec name that is no subdomain"),
    ("Pod", {"spec.containers": container(securityContext={"windowsOptions": {
        "gmsaCredentialSpec": "x" * (64 * 1024 + 1)}})},
     "gmsaCredentialSpec size must be under 64 KiB", "a gMSA spec too large"),
    ("Pod", _host(True, None) | {"spec.hostNetwork": False},
     "spec.hostNetwork: Invalid value: false: hostNetwork must be true if pod contains any "
     "hostProcess containers", "a HostProcess pod off the host network"),
    ("Pod", _host(None, True, False) | {"spec.hostNetwork": True},
     "spec.containers[1].securityContext.windowsOptions.hostProcess: Invalid value: false: If "
     "pod contains any hostProcess containers then all containers must be HostProcess "
     "containers", "a HostProcess container beside an ordinary one"),
    ("Pod", _host(True, False) | {"spec.hostNetwork": True},
     f"{C0_OPTS}.hostProcess: Invalid value: false: pod hostProcess value must be identical "
     "if both are specified", "a container contradicting its pod"),
    ("Deployment", {"spec.template.spec.containers": container(securityContext={
        "windowsOptions": {"runAsUserName": ""}})},
     f"{TC0}.securityContext.windowsOptions.runAsUserName: Invalid value",
     "a template's options"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_invalid_windows_options_get_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


@pytest.mark.parametrize(
    "changes",
    [
        _as("ContainerUser"),
        _as("NT AUTHORITY\\NETWORK SERVICE"),
        _as("corp.example.com\\svc-web"),
        {"spec.containers": container(securityContext={"windowsOptions": {
            "gmsaCredentialSpecName": "gmsa-webapp-1",
            "runAsUserName": "ContainerAdministrator"}})},
        _host(True, None, True) | {"spec.hostNetwork": True},
    ],
    ids=["a user", "a NetBIOS domain", "a DNS domain", "gMSA", "a HostProcess pod"],
)  # fmt: skip
def test_windows_options_as_the_docs_write_them_are_valid(changes: dict[str, Any]) -> None:
    assert errors_of("Pod", changes) == []
