"""Validation of a Job's podFailurePolicy, backoffLimitPerIndex and successPolicy
(validation/jobpolicy.py), in Kubernetes' words."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.apiserver.validation.cases import (
    AllowedUpdate,
    Case,
    UpdateCase,
    allowed_params,
    assert_named,
    errors_of,
    invalid_params,
    update_errors,
    update_params,
)

INDEXED = {"spec.completionMode": "Indexed", "spec.completions": 4}
RULES = "spec.podFailurePolicy.rules"


def rule(**fields: Any) -> dict[str, Any]:
    return {"spec.podFailurePolicy": {"rules": [fields]}}


ON_42 = {"operator": "In", "values": [42]}

CASES: list[Case] = [
    (
        "Job",
        {
            **rule(action="FailJob", onExitCodes=ON_42),
            "spec.podReplacementPolicy": "TerminatingOrFailed",
        },
        'spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported '
        'values: "Failed"',
        "replacing terminating pods beside a podFailurePolicy",
    ),
    (
        "Job",
        {"spec.podReplacementPolicy": "Never"},
        'spec.podReplacementPolicy: Unsupported value: "Never"',
        "an unknown replacement policy",
    ),
    (
        "Job",
        {
            **rule(action="FailJob", onExitCodes=ON_42),
            "spec.template.spec.restartPolicy": "OnFailure",
        },
        'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is '
        "supported when podFailurePolicy is specified",
        "a failure policy for pods that restart",
    ),
    (
        "Job",
        rule(onExitCodes=ON_42),
        f'{RULES}[0].action: Required value: valid values: ["Count" "FailIndex" "FailJob" '
        '"Ignore"]',
        "a rule without an action",
    ),
    (
        "Job",
        rule(action="Retry", onExitCodes=ON_42),
        f'{RULES}[0].action: Unsupported value: "Retry"',
        "an unknown action",
    ),
    (
        "Job",
        rule(action="FailIndex", onExitCodes=ON_42),
        f'{RULES}[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex '
        "to be set",
        "FailIndex without a limit per index",
    ),
    (
        "Job",
        rule(action="FailJob"),
        f"{RULES}[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
        "a rule that matches nothing",
    ),
    (
        "Job",
        rule(action="FailJob", onExitCodes=ON_42, onPodConditions=[{"type": "ConfigIssue"}]),
        f"{RULES}[0]: Invalid value: specifying both OnExitCodes and OnPodConditions is not "
        "supported",
        "a rule on exit codes and conditions at once",
    ),
    (
        "Job",
        rule(action="FailJob", onExitCodes={"operator": "In", "values": [0, 3]}),
        f"{RULES}[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
        "exit code 0 with In",
    ),
    (
        "Job",
        rule(action="FailJob", onExitCodes={"operator": "In", "values": [5, 3]}),
        f"{RULES}[0].onExitCodes.values[1]: Invalid value: 3: must be ordered",
        "unordered exit codes",
    ),
    (
        "Job",
        rule(action="FailJob", onExitCodes={"operator": "NotIn", "values": [3, 3]}),
        f"{RULES}[0].onExitCodes.values[1]: Duplicate value: 3",
        "a repeated exit code",
    ),
    (
        "Job",
        rule(action="FailJob", onExitCodes={"operator": "In", "values": []}),
        f"{RULES}[0].onExitCodes.values: Invalid value: []: at least one value is required",
        "no exit codes",
    ),
    (
        "Job",
        rule(action="FailJob", onExitCodes={"operator": "Is", "values": [1]}),
        f'{RULES}[0].onExitCodes.operator: Unsupported value: "Is"',
        "an unknown operator",
    ),
    (
        "Job",
        rule(action="FailJob", onExitCodes={"containerName": "nope", **ON_42}),
        f'{RULES}[0].onExitCodes.containerName: Invalid value: "nope": must be one of the '
        "container or initContainer names in the pod template",
        "a container the template lacks",
    ),
    (
        "Job",
        rule(action="Ignore", onPodConditions=[{"type": "Ready", "status": "Maybe"}]),
        f'{RULES}[0].onPodConditions[0].status: Unsupported value: "Maybe"',
        "an unknown condition status",
    ),
    (
        "Job",
        rule(action="Ignore", onPodConditions=[{"type": "not a name!"}]),
        f'{RULES}[0].onPodConditions[0].type: Invalid value: "not a name!"',
        "a condition type that is no qualified name",
    ),
    (
        "Job",
        {"spec.backoffLimitPerIndex": 1},
        "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
        "a limit per index on a job without indexes",
    ),
    (
        "Job",
        {**INDEXED, "spec.maxFailedIndexes": 1},
        "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
        "maxFailedIndexes alone",
    ),
    (
        "Job",
        {**INDEXED, "spec.backoffLimitPerIndex": 1, "spec.maxFailedIndexes": 5},
        "spec.maxFailedIndexes: Invalid value: 5: must be less than or equal to completions",
        "more failed indexes allowed than there are",
    ),
    (
        "Job",
        {"spec.successPolicy": {"rules": [{"succeededCount": 1}]}},
        "spec.successPolicy: Invalid value: requires indexed completion mode",
        "a success policy without indexes",
    ),
    (
        "Job",
        {**INDEXED, "spec.successPolicy": {"rules": []}},
        "spec.successPolicy.rules: Required value: at least one rules must be specified when "
        "the successPolicy is specified",
        "a success policy without rules",
    ),
    (
        "Job",
        {**INDEXED, "spec.successPolicy": {"rules": [{}]}},
        "spec.successPolicy.rules[0]: Required value: at least one of succeededCount or "
        "succeededIndexes must be specified",
        "an empty success rule",
    ),
    (
        "Job",
        {**INDEXED, "spec.successPolicy": {"rules": [{"succeededIndexes": "0,2-9"}]}},
        'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "0,2-9": error parsing '
        'succeededIndexes: too large index: "9"',
        "a success index past completions",
    ),
    (
        "Job",
        {
            **INDEXED,
            "spec.successPolicy": {"rules": [{"succeededIndexes": "0,1", "succeededCount": 3}]},
        },
        "spec.successPolicy.rules[0].succeededCount: Invalid value: 3: must be less than or "
        "equal to 2 (the number of indexes in the specified succeededIndexes field)",
        "a success count above the indexes named",
    ),
    (
        "Job",
        {**INDEXED, "spec.successPolicy": {"rules": [{"succeededCount": 5}]}},
        "spec.successPolicy.rules[0].succeededCount: Invalid value: 5: must be less than or "
        "equal to 4 (the number of specified completions)",
        "a success count above completions",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_a_bad_job_policy_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


DOCS_LIKE: list[dict[str, Any]] = [
    {
        **INDEXED,
        "spec.backoffLimitPerIndex": 1,
        "spec.maxFailedIndexes": 2,
        **rule(action="FailIndex", onExitCodes={"containerName": "app", **ON_42}),
    },
    {**rule(action="Ignore", onPodConditions=[{"type": "DisruptionTarget"}])},
    {
        **INDEXED,
        "spec.successPolicy": {"rules": [{"succeededIndexes": "0,2-3", "succeededCount": 1}]},
    },
]


@pytest.mark.parametrize("changes", DOCS_LIKE)
def test_the_documented_job_policies_are_valid(changes: dict[str, Any]) -> None:
    assert errors_of("Job", changes) == []


UPDATES: list[UpdateCase] = [
    (
        "Job",
        rule(action="FailJob", onExitCodes=ON_42),
        rule(action="Count", onExitCodes=ON_42),
        "spec.podFailurePolicy: Invalid value: field is immutable",
        "a changed failure policy",
    ),
    (
        "Job",
        {**INDEXED, "spec.backoffLimitPerIndex": 1},
        {"spec.backoffLimitPerIndex": 2},
        "spec.backoffLimitPerIndex: Invalid value: field is immutable",
        "a changed limit per index",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_jobs_policies_do_not_change_after_creation(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)


ALLOWED: list[AllowedUpdate] = [
    (
        "Job",
        {**INDEXED, "spec.backoffLimitPerIndex": 1, "spec.maxFailedIndexes": 1},
        {"spec.maxFailedIndexes": 3},
        "a raised maxFailedIndexes",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes"), allowed_params(ALLOWED))
def test_a_jobs_max_failed_indexes_may_change(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> None:
    assert update_errors(kind, old_changes, new_changes) == []
