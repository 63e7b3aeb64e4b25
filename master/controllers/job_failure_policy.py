"""A Job's podFailurePolicy: what a failed pod means for its Job.

Kubernetes reads the rules in order and the first that matches a failed pod decides:
FailJob fails the whole Job at once, FailIndex fails only the pod's index (with
backoffLimitPerIndex), Ignore does not count the failure at all (a disruption is not the
program's fault), and Count counts it as any failure. A pod no rule matches counts. The
messages are Kubernetes' own, since `kubectl describe job` users compare them with the
docs.
"""

from __future__ import annotations

from dataclasses import dataclass

from proto import core_pb2, workloads_pb2

FAIL_JOB = "FailJob"
FAIL_INDEX = "FailIndex"
IGNORE = "Ignore"
COUNT = "Count"


@dataclass(frozen=True)
class Verdict:
    action: str
    message: str


def judge(policy: workloads_pb2.PodFailurePolicy, pod: core_pb2.Pod) -> Verdict:
    """The action of the first rule that matches the failed `pod` (Count if none does)."""
    name = f"{pod.metadata.namespace}/{pod.metadata.name}"
    for at, rule in enumerate(policy.rules):
        if rule.HasField("on_exit_codes"):
            hit = _exit_code_match(rule.on_exit_codes, pod)
            if hit is not None:
                container, code = hit
                return Verdict(
                    rule.action,
                    f"Container {container} for pod {name} failed with exit code {code} "
                    f"matching {rule.action} rule at index {at}",
                )
        for pattern in rule.on_pod_conditions:
            want = pattern.status or "True"
            if any(c.type == pattern.type and c.status == want for c in pod.status.conditions):
                return Verdict(
                    rule.action,
                    f"Pod {name} has condition {pattern.type} matching {rule.action} rule "
                    f"at index {at}",
                )
    return Verdict(COUNT, "")


def _exit_code_match(
    requirement: workloads_pb2.PodFailurePolicyOnExitCodesRequirement, pod: core_pb2.Pod
) -> tuple[str, int] | None:
    """The first terminated container whose non-zero exit code the requirement matches;
    app containers are looked at before init containers, as Kubernetes does."""
    statuses = [*pod.status.container_statuses, *pod.status.init_container_statuses]
    for status in statuses:
        if requirement.HasField("container_name") and status.name != requirement.container_name:
            continue
        if not status.state.HasField("terminated"):
            continue
        code = status.state.terminated.exit_code
        if code == 0:
            continue
        listed = code in requirement.values
        if listed == (requirement.operator == "In"):
            return status.name, code
    return None
