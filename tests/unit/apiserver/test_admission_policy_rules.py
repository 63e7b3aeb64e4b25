"""Which writes an admission policy's rules take, and its CEL expressions' evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from client.codec import from_dict
from client.kinds import by_resource
from master.apiserver.admission import cel
from master.apiserver.admission.matching import Write, rule_matches
from proto import admissionregistration_pb2 as ar
from proto import workloads_pb2

DEPLOYMENT = from_dict(workloads_pb2.Deployment, {"metadata": {"name": "web"}})


def rule(**fields: Any) -> ar.NamedRuleWithOperations:
    body = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"],
            "resources": ["deployments"], **fields}  # fmt: skip
    return from_dict(ar.NamedRuleWithOperations, body)


def write(operation: str = "CREATE", subresource: str = "", name: str = "web") -> Write:
    return Write(by_resource("deployments"), operation, "default", name, DEPLOYMENT,
                 subresource=subresource)  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "w", "taken"),
    [
        ({}, write(), True),
        ({}, write("UPDATE"), False),
        ({"operations": ["*"]}, write("UPDATE"), True),
        ({"apiGroups": [""]}, write(), False),
        ({"apiGroups": ["*"], "apiVersions": ["*"]}, write(), True),
        ({}, write("CREATE", "status"), False),
        ({"resources": ["deployments/status"]}, write("CREATE", "status"), True),
        ({"resources": ["*/status"]}, write("CREATE", "status"), True),
        ({"resources": ["*"]}, write("CREATE", "status"), False),
        ({"resources": ["*/*"]}, write("CREATE", "status"), True),
        ({"scope": "Cluster"}, write(), False),
        ({"scope": "Namespaced"}, write(), True),
        ({"resourceNames": ["api"]}, write(), False),
        ({"resourceNames": ["web"]}, write(), True),
    ],
)
def test_a_rule_takes_the_operations_groups_resources_scopes_and_names_it_lists(
    fields: dict[str, Any], w: Write, taken: bool
) -> None:
    chosen = rule(**fields)
    assert rule_matches(chosen, w, chosen.resource_names) is taken


def test_expressions_compile_once_and_evaluate_against_json_shaped_data() -> None:
    assert cel.compile_error("object.spec.replicas <=").startswith("compilation failed")
    assert cel.compile_error("") == "expression must not be empty"
    obj = {"metadata": {"name": "web"}, "spec": {"replicas": 3}}
    assert cel.as_bool("object.spec.replicas <= 5", {"object": obj}) is True
    assert cel.as_bool("has(object.metadata.labels)", {"object": obj}) is False
    assert cel.as_string("'name: ' + object.metadata.name", {"object": obj}) == "name: web"
    with pytest.raises(cel.CelError):
        cel.as_bool("object.spec.missing == 1", {"object": obj})
    with pytest.raises(cel.CelError, match="must evaluate to bool"):
        cel.as_bool("object.spec.replicas", {"object": obj})


def test_a_variable_that_failed_fails_only_the_expressions_reading_it() -> None:
    bound = {"variables": cel.bind_map({"good": cel.evaluate("1 + 1", {}),
                                        "bad": cel.CELEvalError("no such key")})}  # fmt: skip
    assert cel.as_bool("variables.good == 2", bound) is True
    with pytest.raises(cel.CelError):
        cel.as_bool("variables.bad == 1", bound)
