"""The scheduler loop in memory: assume, bind, un-assume, unschedulable, preemption."""

from __future__ import annotations

from master.scheduler.framework import pod_key
from master.scheduler.scheduler import Scheduler
from proto import core_pb2, workloads_pb2
from tests.unit.scheduler.builders import node, pod
from tests.unit.scheduler.recording import RecordingWriter


def bound(p: core_pb2.Pod, node_name: str) -> core_pb2.Pod:
    copy = core_pb2.Pod()
    copy.CopyFrom(p)
    copy.spec.node_name = node_name
    return copy


async def run_until_idle(s: Scheduler, *, limit: int = 1000) -> None:
    for _ in range(limit):
        if not await s.schedule_one(max_wait=0):
            break
    await s.drain()


async def test_two_pods_never_both_get_the_last_free_core():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1", cpu="1"))
    s.on_pod(pod("a", cpu="1"))
    s.on_pod(pod("b", cpu="1"))
    await run_until_idle(s)
    assert w.binds == [("default/a", "n1")]
    assert w.unschedulable == {
        "default/b": "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
    }


async def test_the_failure_message_ends_with_why_preemption_cannot_help_on_each_node():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("full", cpu="1"))
    s.on_node(node("gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]))
    s.on_node(node("small", cpu="500m"))
    s.on_pod(bound(pod("peer", cpu="1", priority=10), "full"))
    s.on_pod(bound(pod("minor", cpu="100m", priority=0), "small"))
    s.on_pod(pod("p", cpu="1", priority=10))
    await run_until_idle(s)
    # "full" would fit without its pod, but that pod's priority is not lower; "small" is
    # too small even without its lower-priority pod; eviction does not lift a taint.
    assert w.unschedulable["default/p"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: "
        "1 Insufficient cpu, 1 No preemption victims found for incoming pod, "
        "1 Preemption is not helpful for scheduling.."
    )


async def test_a_pod_that_never_preempts_says_so_in_its_failure_message():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1", cpu="1"))
    s.on_pod(bound(pod("low", cpu="1", priority=0), "n1"))
    s.on_pod(pod("p", cpu="1", priority=10, preemptionPolicy="Never"))
    await run_until_idle(s)
    assert w.preemptions == []
    assert w.unschedulable["default/p"] == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: not eligible due to preemptionPolicy=Never.."
    )


async def test_a_failed_bind_un_assumes_the_pod_and_retries_it():
    w = RecordingWriter(fail_binds={"default/a"})
    clock = [0.0]
    s = Scheduler(w, clock=lambda: clock[0])
    s.on_node(node("n1", cpu="1"))
    s.on_pod(pod("a", cpu="1"))
    await run_until_idle(s)
    assert w.binds == []
    assert s.cache.node_of("default/a") is None, "the failed bind must un-assume"
    clock[0] += 2  # past the back-off
    await run_until_idle(s)
    assert w.binds == [("default/a", "n1")]


async def test_the_informer_confirms_an_assumed_pod():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1"))
    p = pod("a", cpu="1")
    s.on_pod(p)
    await run_until_idle(s)
    assert s.cache.is_assumed("default/a")
    s.on_pod(bound(p, "n1"))
    assert not s.cache.is_assumed("default/a")
    info = s.cache.node("n1")
    assert info is not None
    assert info.requested.milli_cpu == 1000  # counted once


async def test_a_new_node_wakes_an_unschedulable_pod():
    w = RecordingWriter()
    clock = [0.0]
    s = Scheduler(w, clock=lambda: clock[0])
    s.on_node(node("small", cpu="1"))
    s.on_pod(pod("big", cpu="2"))
    await run_until_idle(s)
    assert "default/big" in w.unschedulable
    clock[0] += 2
    s.on_node(node("large", cpu="4"))
    await run_until_idle(s)
    assert w.binds == [("default/big", "large")]


async def test_a_deleted_pod_frees_room_for_an_unschedulable_one():
    w = RecordingWriter()
    clock = [0.0]
    s = Scheduler(w, clock=lambda: clock[0])
    s.on_node(node("n1", cpu="1"))
    old = bound(pod("old", cpu="1"), "n1")
    s.on_pod(old)
    s.on_pod(pod("new", cpu="1"))
    await run_until_idle(s)
    assert w.binds == []
    clock[0] += 2
    s.on_pod_deleted(old)
    await run_until_idle(s)
    assert w.binds == [("default/new", "n1")]


async def test_pods_for_another_scheduler_or_already_bound_are_left_alone():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1"))
    s.on_pod(pod("mine"))
    s.on_pod(pod("theirs", schedulerName="other-scheduler"))
    s.on_pod(pod("placed", node_name="n1"))
    await run_until_idle(s)
    assert w.binds == [("default/mine", "n1")]


async def test_a_priority_class_name_is_resolved_and_orders_the_queue():
    w = RecordingWriter()
    s = Scheduler(w)
    pc = workloads_pb2.PriorityClass(value=1000)
    pc.metadata.name = "high"
    s.on_priority_class(pc)
    s.on_node(node("n1", cpu="1"))
    s.on_pod(pod("low", cpu="1"))
    s.on_pod(pod("urgent", cpu="1", priorityClassName="high"))
    await run_until_idle(s)
    assert w.binds == [("default/urgent", "n1")]


async def test_a_high_priority_pod_preempts_the_fewest_lower_priority_pods():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1", cpu="2"))
    s.on_node(node("n2", cpu="2"))
    # n1: one low pod holding 2 cpu; n2: two low pods of 1 cpu each.
    s.on_pod(bound(pod("big-low", cpu="2", priority=1), "n1"))
    s.on_pod(bound(pod("small-low-1", cpu="1", priority=1), "n2"))
    s.on_pod(bound(pod("small-low-2", cpu="1", priority=1), "n2"))
    s.on_pod(pod("vip", cpu="2", priority=100))
    await run_until_idle(s)
    assert w.binds == []
    assert w.preemptions == [("default/vip", "n1", ["default/big-low"])]


async def test_preemption_prefers_lower_priority_victims_to_fewer_victims():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1", cpu="2"))
    s.on_node(node("n2", cpu="2"))
    # n1: one pod of priority 10; n2: two pods of priority 1. kube-scheduler evicts the
    # two less important pods rather than the one more important pod.
    s.on_pod(bound(pod("important", cpu="2", priority=10), "n1"))
    s.on_pod(bound(pod("minor-1", cpu="1", priority=1), "n2"))
    s.on_pod(bound(pod("minor-2", cpu="1", priority=1), "n2"))
    s.on_pod(pod("vip", cpu="2", priority=100))
    await run_until_idle(s)
    assert w.preemptions == [("default/vip", "n2", ["default/minor-1", "default/minor-2"])]


async def test_a_pod_of_default_priority_preempts_a_pod_of_negative_priority():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1", cpu="1"))
    s.on_pod(bound(pod("filler", cpu="1", priority=-10), "n1"))
    s.on_pod(pod("p", cpu="1"))
    await run_until_idle(s)
    assert w.preemptions == [("default/p", "n1", ["default/filler"])]


async def test_preemption_never_evicts_equal_or_higher_priority_pods():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1", cpu="1"))
    s.on_pod(bound(pod("peer", cpu="1", priority=100), "n1"))
    s.on_pod(pod("vip", cpu="1", priority=100))
    await run_until_idle(s)
    assert w.preemptions == []
    assert "default/vip" in w.unschedulable


async def test_preemption_keeps_victims_whose_eviction_is_not_needed():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1", cpu="3"))
    for i in range(3):
        s.on_pod(bound(pod(f"low-{i}", cpu="1", priority=i), "n1"))
    s.on_pod(pod("vip", cpu="1", priority=100))
    await run_until_idle(s)
    # Only one has to go, and it is the lowest-priority one.
    assert w.preemptions == [("default/vip", "n1", ["default/low-0"])]


async def test_a_pod_bound_elsewhere_meanwhile_is_not_scheduled_again():
    w = RecordingWriter()
    s = Scheduler(w)
    s.on_node(node("n1"))
    p = pod("a")
    s.on_pod(p)
    s.on_pod(bound(p, "n1"))
    await run_until_idle(s)
    assert w.binds == []
    assert pod_key(p) not in s.pending


async def test_a_status_only_update_leaves_an_unschedulable_pod_waiting():
    w = RecordingWriter()
    clock = [0.0]
    s = Scheduler(w, clock=lambda: clock[0])
    s.on_node(node("small", cpu="1"))
    p = pod("big", cpu="2")
    s.on_pod(p)
    await run_until_idle(s)
    clock[0] += 5
    with_condition = core_pb2.Pod()
    with_condition.CopyFrom(p)
    with_condition.status.conditions.add(type="PodScheduled", status="False")
    s.on_pod(with_condition)
    assert s.queue.lengths()["unschedulable"] == 1
    relabelled = core_pb2.Pod()
    relabelled.CopyFrom(with_condition)
    relabelled.metadata.labels["tier"] = "x"
    s.on_pod(relabelled)
    assert s.queue.lengths()["unschedulable"] == 0


async def test_a_preemptor_whose_nominated_node_turned_unusable_preempts_elsewhere():
    w = RecordingWriter()
    clock = [0.0]
    s = Scheduler(w, clock=lambda: clock[0])
    s.on_node(node("n1", cpu="1"))
    s.on_node(node("n2", cpu="1"))
    s.on_pod(bound(pod("low-1", cpu="1", priority=1), "n1"))
    s.on_pod(bound(pod("low-2", cpu="1", priority=2), "n2"))
    s.on_pod(pod("vip", cpu="1", priority=100))
    await run_until_idle(s)
    assert w.preemptions == [("default/vip", "n1", ["default/low-1"])]
    # The victim is still terminating when n1 is tainted: waiting for it is pointless now.
    going = bound(pod("low-1", cpu="1", priority=1), "n1")
    going.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    s.on_pod(going)
    s.on_node(node("n1", cpu="1", taints=[{"key": "broken", "effect": "NoSchedule"}]))
    clock[0] += 11
    await run_until_idle(s)
    assert w.preemptions[1:] == [("default/vip", "n2", ["default/low-2"])]


async def test_a_preemptor_waiting_for_its_victims_says_so_and_evicts_nothing_more():
    w = RecordingWriter()
    clock = [0.0]
    s = Scheduler(w, clock=lambda: clock[0])
    s.on_node(node("n1", cpu="1"))
    s.on_pod(bound(pod("low", cpu="1", priority=1), "n1"))
    s.on_pod(pod("vip", cpu="1", priority=100))
    await run_until_idle(s)
    going = bound(pod("low", cpu="1", priority=1), "n1")
    going.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    s.on_pod(going)
    s.queue.move_all_to_active_or_backoff()
    clock[0] += 11
    await run_until_idle(s)
    assert len(w.preemptions) == 1
    assert w.unschedulable["default/vip"] == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: not eligible due to a terminating pod on the nominated node.."
    )
