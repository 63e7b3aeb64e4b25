"""Validation of a Job's failure and success rules: podFailurePolicy, backoffLimitPerIndex
with maxFailedIndexes, and successPolicy (batch/v1).

These fields only make sense together with others (Indexed completion, restartPolicy
Never, the template's container names), so they are checked here as a whole, in
Kubernetes' words and field paths, and kept apart from the counts and selector that
validate_job checks for every Job.
"""

from __future__ import annotations

from client import jobindexes
from client.names import is_qualified_name
from master.apiserver.validation.errors import Errors, index
from proto import workloads_pb2

ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")
OPERATORS = ("In", "NotIn")
CONDITION_STATUSES = ("False", "True", "Unknown")
MAX_RULES = 20
MAX_PATTERNS = 20
MAX_EXIT_CODES = 255
MAX_INDEXED = 100_000
MAX_INDEXES_TEXT = 64 * 1024


def _too_many(errs: Errors, path: str, count: int, limit: int) -> None:
    errs.add(path, f"Too many: {count}: must have at most {limit} items")


def validate(errs: Errors, spec: workloads_pb2.JobSpec) -> None:
    """Every rule of the three features, in the order Kubernetes reports them."""
    indexed = spec.completion_mode == "Indexed"
    if spec.HasField("pod_failure_policy"):
        _pod_failure_policy(errs, spec)
    if spec.HasField("backoff_limit_per_index"):
        errs.non_negative("spec.backoffLimitPerIndex", spec.backoff_limit_per_index)
        if not indexed:
            errs.invalid(
                "spec.backoffLimitPerIndex",
                spec.backoff_limit_per_index,
                "requires indexed completion mode",
            )
        elif spec.completions > MAX_INDEXED:
            errs.invalid(
                "spec.completions",
                spec.completions,
                f"must be less than or equal to {MAX_INDEXED} when backoffLimitPerIndex is "
                "specified",
            )
    if spec.HasField("max_failed_indexes"):
        _max_failed_indexes(errs, spec, indexed)
    if spec.HasField("success_policy"):
        if not indexed:
            errs.add("spec.successPolicy", "Invalid value: requires indexed completion mode")
        else:
            _success_policy(errs, spec)


def _max_failed_indexes(errs: Errors, spec: workloads_pb2.JobSpec, indexed: bool) -> None:
    path, value = "spec.maxFailedIndexes", spec.max_failed_indexes
    errs.non_negative(path, value)
    if not spec.HasField("backoff_limit_per_index"):
        errs.required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified")
    if not indexed:
        errs.invalid(path, value, "requires indexed completion mode")
        return
    if spec.HasField("completions") and value > spec.completions:
        errs.invalid(path, value, "must be less than or equal to completions")
    if value > MAX_INDEXED:
        errs.invalid(path, value, f"must be less than or equal to {MAX_INDEXED}")


def _pod_failure_policy(errs: Errors, spec: workloads_pb2.JobSpec) -> None:
    path = "spec.podFailurePolicy.rules"
    rules = spec.pod_failure_policy.rules
    if spec.template.spec.restart_policy != "Never":
        errs.invalid(
            "spec.template.spec.restartPolicy",
            spec.template.spec.restart_policy,
            'only "Never" is supported when podFailurePolicy is specified',
        )
    if len(rules) > MAX_RULES:
        _too_many(errs, path, len(rules), MAX_RULES)
    pod = spec.template.spec
    names = {c.name for c in [*pod.containers, *pod.init_containers]}
    for i, rule in enumerate(rules):
        at = index(path, i)
        if not rule.action:
            errs.required(f"{at}.action", 'valid values: ["Count" "FailIndex" "FailJob" "Ignore"]')
        elif rule.action == "FailIndex":
            if not spec.HasField("backoff_limit_per_index"):
                errs.invalid(
                    f"{at}.action", rule.action, "requires the backoffLimitPerIndex to be set"
                )
        elif rule.action not in ACTIONS:
            errs.unsupported(f"{at}.action", rule.action, ACTIONS)
        if rule.HasField("on_exit_codes"):
            _on_exit_codes(errs, f"{at}.onExitCodes", rule.on_exit_codes, names)
        _on_pod_conditions(errs, f"{at}.onPodConditions", rule)
        has_codes, has_conditions = rule.HasField("on_exit_codes"), bool(rule.on_pod_conditions)
        if has_codes and has_conditions:
            errs.add(
                at,
                "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
            )
        if not has_codes and not has_conditions:
            errs.add(
                at,
                "Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
            )


def _on_exit_codes(
    errs: Errors,
    path: str,
    requirement: workloads_pb2.PodFailurePolicyOnExitCodesRequirement,
    names: set[str],
) -> None:
    operator = requirement.operator
    if not operator:
        errs.required(f"{path}.operator", 'valid values: ["In" "NotIn"]')
    elif operator not in OPERATORS:
        errs.unsupported(f"{path}.operator", operator, OPERATORS)
    if requirement.HasField("container_name") and requirement.container_name not in names:
        errs.invalid(
            f"{path}.containerName",
            requirement.container_name,
            "must be one of the container or initContainer names in the pod template",
        )
    values = list(requirement.values)
    if not values:
        errs.invalid(f"{path}.values", values, "at least one value is required")
        return
    if len(values) > MAX_EXIT_CODES:
        _too_many(errs, f"{path}.values", len(values), MAX_EXIT_CODES)
        return
    seen: set[int] = set()
    for j, value in enumerate(values):
        at = index(f"{path}.values", j)
        if operator == "In" and value == 0:
            errs.invalid(at, value, "must not be 0 for the In operator")
        if value in seen:
            errs.duplicate(at, value)
        seen.add(value)
        if j > 0 and values[j - 1] > value:
            errs.invalid(at, value, "must be ordered")


def _on_pod_conditions(errs: Errors, path: str, rule: workloads_pb2.PodFailurePolicyRule) -> None:
    patterns = rule.on_pod_conditions
    if len(patterns) > MAX_PATTERNS:
        _too_many(errs, path, len(patterns), MAX_PATTERNS)
    for j, pattern in enumerate(patterns):
        at = index(path, j)
        errs.invalid_each(f"{at}.type", pattern.type, is_qualified_name(pattern.type))
        if not pattern.status:
            errs.required(f"{at}.status", 'valid values: ["False" "True" "Unknown"]')
        elif pattern.status not in CONDITION_STATUSES:
            errs.unsupported(f"{at}.status", pattern.status, CONDITION_STATUSES)


def _success_policy(errs: Errors, spec: workloads_pb2.JobSpec) -> None:
    path = "spec.successPolicy.rules"
    rules = spec.success_policy.rules
    if not rules:
        errs.required(
            path, "at least one rules must be specified when the successPolicy is specified"
        )
    if len(rules) > MAX_RULES:
        _too_many(errs, path, len(rules), MAX_RULES)
    completions = spec.completions
    for i, rule in enumerate(rules):
        at = index(path, i)
        if not rule.HasField("succeeded_count") and not rule.HasField("succeeded_indexes"):
            errs.required(
                at, "at least one of succeededCount or succeededIndexes must be specified"
            )
        named = 0
        if rule.HasField("succeeded_indexes"):
            text = rule.succeeded_indexes
            if len(text) > MAX_INDEXES_TEXT:
                errs.too_long(f"{at}.succeededIndexes", MAX_INDEXES_TEXT)
            try:
                named = len(jobindexes.parse(text, completions))
            except jobindexes.IndexesError as e:
                errs.invalid(f"{at}.succeededIndexes", text, f"error parsing succeededIndexes: {e}")
        if not rule.HasField("succeeded_count"):
            continue
        count_path, count = f"{at}.succeededCount", rule.succeeded_count
        errs.non_negative(count_path, count)
        if count > completions:
            errs.invalid(
                count_path,
                count,
                f"must be less than or equal to {completions} (the number of specified "
                "completions)",
            )
        if rule.HasField("succeeded_indexes") and count > named:
            errs.invalid(
                count_path,
                count,
                f"must be less than or equal to {named} (the number of indexes in the "
                "specified succeededIndexes field)",
            )
