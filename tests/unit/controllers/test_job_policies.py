"""A Job's podFailurePolicy verdicts, successPolicy rules and per-index counting."""

from __future__ import annotations

from typing import Any

from client.codec import from_dict
from master.controllers import job as jobc
from master.controllers import job_failure_policy as failure_policy
from master.controllers import job_indexes, job_tracking
from master.controllers import job_success_policy as success_policy
from proto import core_pb2, workloads_pb2


def job(**spec: Any) -> workloads_pb2.Job:
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "work", "namespace": "default"},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main"}]}},
            **spec,
        },
    }
    return from_dict(workloads_pb2.Job, body)


def pod(
    name: str,
    phase: str,
    *,
    index: int | None = None,
    exit_code: int | None = None,
    container: str = "main",
    condition: str = "",
    created: str = "2026-12-07T00:00:00Z",
) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name, p.metadata.namespace = name, "default"
    p.metadata.uid = f"uid-{name}"
    p.metadata.creation_timestamp = created
    # As the Job controller creates them: waiting to be counted (job_tracking.py).
    p.metadata.finalizers.append(job_tracking.FINALIZER)
    p.status.phase = phase
    if index is not None:
        p.metadata.annotations[job_indexes.INDEX_KEY] = str(index)
    if exit_code is not None:
        s = p.status.container_statuses.add(name=container)
        s.state.terminated.exit_code = exit_code
    if condition:
        p.status.conditions.add(type=condition, status="True")
    return p


def policy(*rules: dict[str, Any]) -> workloads_pb2.PodFailurePolicy:
    return job(podFailurePolicy={"rules": list(rules)}).spec.pod_failure_policy


FAIL_ON_42 = {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}
IGNORE_DISRUPTION = {
    "action": "Ignore",
    "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
}


def test_the_first_matching_rule_decides_and_its_message_names_container_code_and_rule():
    verdict = failure_policy.judge(
        policy(IGNORE_DISRUPTION, FAIL_ON_42), pod("w-1", "Failed", exit_code=42)
    )
    assert verdict == failure_policy.Verdict(
        "FailJob",
        "Container main for pod default/w-1 failed with exit code 42 matching FailJob rule "
        "at index 1",
    )
    disrupted = pod("w-2", "Failed", exit_code=42, condition="DisruptionTarget")
    verdict = failure_policy.judge(policy(IGNORE_DISRUPTION, FAIL_ON_42), disrupted)
    assert verdict == failure_policy.Verdict(
        "Ignore", "Pod default/w-2 has condition DisruptionTarget matching Ignore rule at index 0"
    )


def test_an_exit_code_rule_skips_zero_other_containers_and_honours_not_in():
    rule = {
        "action": "FailJob",
        "onExitCodes": {"containerName": "main", "operator": "NotIn", "values": [1]},
    }
    assert failure_policy.judge(policy(rule), pod("a", "Failed", exit_code=1)).action == "Count"
    assert failure_policy.judge(policy(rule), pod("b", "Failed", exit_code=0)).action == "Count"
    other = pod("c", "Failed", exit_code=3, container="sidecar")
    assert failure_policy.judge(policy(rule), other).action == "Count"
    assert failure_policy.judge(policy(rule), pod("d", "Failed", exit_code=3)).action == "FailJob"


def test_a_pod_no_rule_matches_counts():
    assert failure_policy.judge(policy(FAIL_ON_42), pod("a", "Failed", exit_code=1)).action == (
        "Count"
    )


def test_success_rules_by_indexes_by_count_and_by_both():
    def met(rule: dict[str, Any], succeeded: set[int]) -> str:
        j = job(completionMode="Indexed", completions=10, successPolicy={"rules": [rule]})
        return success_policy.matched(j.spec.success_policy, 10, succeeded)

    assert met({"succeededIndexes": "0,2-3"}, {0, 2, 3, 9}) == "Matched rules at index 0"
    assert met({"succeededIndexes": "0,2-3"}, {0, 2}) == ""
    assert met({"succeededCount": 2}, {5, 7}) == "Matched rules at index 0"
    assert met({"succeededCount": 2}, {5}) == ""
    assert met({"succeededIndexes": "0,2-3", "succeededCount": 1}, {2}) != ""
    assert met({"succeededIndexes": "0,2-3", "succeededCount": 1}, {4, 5}) == ""


def test_an_ignored_failure_is_not_counted_and_fail_job_is_reported():
    j = job(backoffLimit=0, podFailurePolicy={"rules": [IGNORE_DISRUPTION, FAIL_ON_42]})
    t = jobc.tally(j, [pod("a", "Failed", exit_code=1, condition="DisruptionTarget")])
    assert (t.failed, t.fail_job) == (0, "")
    t = jobc.tally(j, [pod("b", "Failed", exit_code=42)])
    assert t.failed == 1 and "pod default/b failed with exit code 42" in t.fail_job


def test_an_index_fails_past_its_own_limit_or_at_once_by_a_fail_index_rule():
    fail_index = {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}
    j = job(
        completionMode="Indexed",
        completions=4,
        parallelism=2,
        backoffLimitPerIndex=1,
        podFailurePolicy={"rules": [fail_index]},
    )
    pods = [
        pod("i0-a", "Failed", index=0, exit_code=1),
        pod("i1-a", "Failed", index=1, exit_code=42),
        pod("i2-a", "Failed", index=2, exit_code=1),
        pod("i2-b", "Running", index=2),
        pod("i3-a", "Succeeded", index=3),
    ]
    t = jobc.tally(j, pods)
    assert t.failed_indexes == {1}
    assert t.succeeded_indexes == {3} and t.succeeded == 1
    assert t.index_failures == {0: 1, 1: 1, 2: 1}
    assert [p.metadata.name for p in t.active] == ["i2-b"]
    t = jobc.tally(j, [*pods, pod("i0-b", "Failed", index=0, exit_code=1)])
    assert t.failed_indexes == {0, 1}


def test_an_indexed_job_keeps_one_pod_per_open_index_and_marks_the_rest_surplus():
    j = job(completionMode="Indexed", completions=3, parallelism=3)
    pods = [
        pod("done", "Succeeded", index=0),
        pod("late", "Running", index=0),
        pod("one", "Running", index=1),
        pod("twin", "Pending", index=1),
        pod("stray", "Running"),
        pod("beyond", "Running", index=7),
    ]
    t = jobc.tally(j, pods)
    assert [p.metadata.name for p in t.active] == ["one"]
    assert sorted(p.metadata.name for p in t.surplus) == ["beyond", "late", "stray", "twin"]
    assert job_indexes.pending(3, t.succeeded_indexes | set(t.active_indexes)) == [2]


def test_an_indexed_pod_carries_its_index_as_annotation_label_env_and_hostname():
    j = job(completionMode="Indexed", completions=3, backoffLimitPerIndex=2)
    p = core_pb2.Pod()
    p.spec.CopyFrom(j.spec.template.spec)
    job_indexes.stamp(p, j, 2, 1)
    assert p.metadata.generate_name == "work-2-"
    assert p.metadata.annotations[job_indexes.INDEX_KEY] == "2"
    assert p.metadata.labels[job_indexes.INDEX_KEY] == "2"
    assert p.metadata.annotations[job_indexes.FAILURE_COUNT_KEY] == "1"
    assert p.spec.hostname == "work-2"
    (env,) = p.spec.containers[0].env
    assert env.name == "JOB_COMPLETION_INDEX"
    assert env.value_from.field_ref.field_path == (
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    )
