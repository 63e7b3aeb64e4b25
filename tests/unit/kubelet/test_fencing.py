"""Self-fencing decisions on a hand-driven clock, and what the fencing task does about them."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet import fencing
from kubelet.fencing import DEADLINE_SLACK, Fence, FenceSettings, Link, SelfFencing
from kubelet.main import parse_args
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerConfig, PodRef
from proto import core_pb2

BASE = ["--node-name", "n1", "--address", "127.0.0.2", "--server", "127.0.0.1:6443"]


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fence(clock: Clock, fence_after: float = 8.0, reconnect: float = 4.0) -> Fence:
    return Fence(
        FenceSettings(fence_after=fence_after, reconnect_kill_after=reconnect), "n1", clock
    )


def test_a_kubelet_that_renews_in_time_stays_connected_and_may_start_containers() -> None:
    clock = Clock()
    f = fence(clock)
    for _ in range(10):
        clock.advance(2.0)
        f.renewed(clock.now)
        assert f.may_start()
    assert f.link is Link.CONNECTED and not f.fenced and f.fencings == 0


def test_a_short_gap_disconnects_without_fencing_and_blocks_starts() -> None:
    clock = Clock()
    f = fence(clock)
    clock.advance(5.0)
    assert not f.may_start()
    assert f.link is Link.DISCONNECTED
    assert not f.fenced


def test_the_grace_period_running_out_fences_once() -> None:
    clock = Clock()
    f = fence(clock)
    clock.advance(8.5)
    f.check()
    clock.advance(3.0)
    f.check()
    assert f.fenced and f.fencings == 1
    assert f.wake.is_set()


def test_exactly_the_grace_period_is_not_yet_past_it() -> None:
    clock = Clock()
    f = fence(clock)
    clock.advance(8.0)
    f.check()
    assert not f.fenced


def test_a_pause_noticed_by_the_renewal_itself_fences_before_it_reconnects() -> None:
    # SIGSTOP then SIGCONT: the first thing to run may be the renewal loop, not the ticker.
    clock = Clock()
    f = fence(clock)
    clock.advance(20.0)
    f.renewed(clock.now)
    assert f.fenced and f.fencings == 1
    assert f.link is Link.RECONNECTING
    assert not f.may_start()


def test_an_answer_to_a_request_sent_before_the_pause_does_not_reconnect() -> None:
    clock = Clock()
    f = fence(clock)
    sent = clock.now
    clock.advance(20.0)
    f.renewed(sent)
    assert f.fenced
    assert f.link is Link.DISCONNECTED


def test_reconnecting_needs_the_reconcile_step_before_starts_resume() -> None:
    clock = Clock()
    f = fence(clock)
    clock.advance(9.0)
    f.check()
    f.renewed(clock.now)
    assert not f.may_start()
    f.reconciled()
    assert f.may_start()
    assert not f.fenced
    clock.advance(9.0)
    f.check()
    assert f.fencings == 2


def test_losing_touch_again_while_reconciling_goes_back_to_disconnected() -> None:
    clock = Clock()
    f = fence(clock)
    clock.advance(9.0)
    f.renewed(clock.now)
    clock.advance(5.0)
    f.reconciled()
    assert f.link is Link.DISCONNECTED
    assert not f.may_start()


def test_with_fencing_off_a_gap_only_disconnects() -> None:
    clock = Clock()
    f = fence(clock, fence_after=0)
    clock.advance(100.0)
    assert f.check() is Link.DISCONNECTED
    assert not f.fenced


def test_with_both_timings_off_nothing_ever_happens() -> None:
    clock = Clock()
    f = fence(clock, fence_after=0, reconnect=0)
    clock.advance(1000.0)
    assert f.may_start()
    assert not f.fenced


def test_a_fence_shorter_than_the_reconnect_timing_still_disconnects_at_the_fence() -> None:
    assert FenceSettings(fence_after=3.0, reconnect_kill_after=4.0).disconnected_after == 3.0
    assert FenceSettings(fence_after=0.0, reconnect_kill_after=4.0).disconnected_after == 4.0


def test_the_fencing_task_ticks_at_a_tenth_of_the_shorter_timing_within_bounds() -> None:
    assert FenceSettings(fence_after=8.0, reconnect_kill_after=4.0).period == 0.4
    assert FenceSettings(fence_after=0.0, reconnect_kill_after=0.0).period == 0.1
    assert FenceSettings(fence_after=60.0, reconnect_kill_after=30.0).period == 1.0
    assert FenceSettings(tick=0.05).period == 0.05


def test_the_next_check_is_due_at_the_nearer_deadline_and_none_once_both_have_passed() -> None:
    clock = Clock()
    f = fence(clock)  # disconnected after 4 s, fenced after 8 s
    clock.advance(1.0)
    assert f.next_check() == pytest.approx(3.0 + DEADLINE_SLACK)
    f.renewed(clock.now)  # a renewal moves the deadline on without waking anyone
    assert f.next_check() == pytest.approx(4.0 + DEADLINE_SLACK)
    clock.advance(5.0)
    f.check()
    assert f.link is Link.DISCONNECTED
    assert f.next_check() == pytest.approx(3.0 + DEADLINE_SLACK)  # now only the fence
    clock.advance(4.0)
    f.check()
    assert f.fenced
    assert f.next_check() is None  # only a renewal can change anything now


def test_with_both_timings_off_there_is_never_a_next_check() -> None:
    assert fence(Clock(), fence_after=0, reconnect=0).next_check() is None


# ---- the fencing task, on the fake runtime ----------------------------------------------


class Pods:
    """Stands in for the API client's list of the pods bound to the node."""

    def __init__(self, pods: list[core_pb2.Pod]) -> None:
        self.pods = pods
        self.calls: list[str] = []
        self.versions: list[tuple[str, str]] = []

    async def list(self, resource: str, namespace: str = "", **kw: Any) -> Any:
        self.calls.append(kw.get("field_selector", ""))
        self.versions.append((kw.get("resource_version", ""), kw.get("resource_version_match", "")))

        class Page:
            items = self.pods
            resource_version = "77"

        return Page()


def bound_pod(uid: str, name: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.uid, pod.metadata.name, pod.metadata.namespace = uid, name, "default"
    pod.spec.node_name = "n1"
    return pod


async def start_pod(runtime: FakeRuntime, uid: str, name: str) -> None:
    ref = PodRef(uid, name, "default")
    sandbox = await runtime.ensure_sandbox(ref, name, 0)
    await runtime.start_container(ref, sandbox, ContainerConfig(name="main", image="busybox"))


async def running(runtime: FakeRuntime) -> set[tuple[str, str]]:
    return {(c.pod.name, c.kind) for c in await runtime.list_containers() if c.running}


async def test_fencing_stops_app_containers_and_reconnecting_kills_pods_no_longer_bound() -> None:
    runtime = FakeRuntime("n1", start_delay=0)
    await start_pod(runtime, "u-kept", "kept")
    await start_pod(runtime, "u-gone", "gone")
    clock = Clock()
    f = fence(clock)
    api = Pods([bound_pod("u-kept", "kept")])
    handed: list[tuple[list[str], str]] = []

    async def reconnected(pods: list[core_pb2.Pod], version: str) -> None:
        handed.append(([p.metadata.name for p in pods], version))

    task = SelfFencing(f, runtime, api, reconnected)
    clock.advance(9.0)
    f.check()
    await task.stop_workload()
    assert await running(runtime) == {("kept", "sandbox"), ("gone", "sandbox")}

    f.renewed(clock.now)
    assert f.link is Link.RECONNECTING
    await task.reconcile()
    assert api.calls == ["spec.nodeName=n1"]
    assert await running(runtime) == {("kept", "sandbox")}
    assert handed == [(["kept"], "77")]
    assert f.may_start()


async def test_reconnecting_lists_the_pods_not_older_than_the_renewed_lease() -> None:
    # The list must hold every change before the kubelet was back, and may come from the
    # API server's cache: a consistent list read every pod of the cluster from etcd.
    clock = Clock()
    f = fence(clock)
    api = Pods([bound_pod("u-kept", "kept")])
    renewed = ["4242"]

    async def reconnected(pods: list[core_pb2.Pod], version: str) -> None:
        pass

    task = SelfFencing(f, FakeRuntime("n1", start_delay=0), api, reconnected, lambda: renewed[0])
    clock.advance(9.0)
    f.check()
    f.renewed(clock.now)
    await task.reconcile()
    renewed[0] = ""  # the Lease was re-read after a conflict: no version known
    f.renewed(clock.now)
    await task.reconcile()
    assert api.versions == [("4242", "NotOlderThan"), ("", "")]


@pytest.mark.parametrize(
    ("extra", "fence_after", "reconnect"),
    [
        ([], 8.0, 4.0),
        (["--lease-period", "3"], 8.0, 6.0),
        (["--node-fence-grace-period", "3", "--reconnect-kill-after", "0"], 3.0, 0.0),
    ],
    ids=["defaults", "reconnect-follows-lease-period", "explicit"],
)
def test_fencing_flags(extra: list[str], fence_after: float, reconnect: float) -> None:
    opts = parse_args([*BASE, *extra])
    assert opts.fencing.fence_after == fence_after
    assert opts.fencing.reconnect_kill_after == reconnect


@pytest.mark.parametrize(
    "extra",
    [
        ["--node-fence-grace-period", "1"],
        ["--node-fence-grace-period", "-1"],
        ["--reconnect-kill-after", "soon"],
    ],
)
def test_bad_fencing_flags_are_rejected_naming_the_flag(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args([*BASE, "--lease-period", "2", *extra])
    assert extra[0] in capsys.readouterr().err


class Stop(Exception):
    """Ends the fencing task in a test once it has chosen how long to sleep."""


async def test_a_healthy_fencing_task_sleeps_until_its_deadline_not_every_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Thousands of simulated nodes share one event loop: a wake-up per node per second
    # was a third of an idle process's time, for checks that found nothing.
    clock = Clock()
    f = fence(clock)  # period 0.4 s; disconnected after 4 s
    clock.advance(1.5)
    slept: list[float] = []

    async def wait(event: object, timeout: float) -> bool:
        slept.append(timeout)
        raise Stop

    monkeypatch.setattr(fencing, "wait_event", wait)
    task = SelfFencing(f, FakeRuntime("n1", start_delay=0), Pods([]), _nothing)
    with pytest.raises(Stop):
        await task.run()
    assert slept == [pytest.approx(2.5 + DEADLINE_SLACK)]


async def test_a_failed_reconcile_is_retried_after_the_period_not_at_the_next_renewal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    f = fence(clock)
    clock.advance(9.0)
    f.check()
    f.renewed(clock.now)
    slept: list[float] = []

    async def wait(event: object, timeout: float) -> bool:
        slept.append(timeout)
        raise Stop

    class Unreachable(Pods):
        async def list(self, resource: str, namespace: str = "", **kw: Any) -> Any:
            raise OSError("connection refused")

    monkeypatch.setattr(fencing, "wait_event", wait)
    task = SelfFencing(f, FakeRuntime("n1", start_delay=0), Unreachable([]), _nothing)
    with pytest.raises(Stop):
        await task.run()
    assert f.link is Link.RECONNECTING
    assert slept == [pytest.approx(0.4)]


async def _nothing(pods: list[core_pb2.Pod], version: str) -> None:
    pass
