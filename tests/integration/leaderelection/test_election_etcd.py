"""Leader election against a real etcd: one leader at a time, take-over, step-down."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import aetcd
import pytest

from client.timeouts import within
from master.leaderelection.election import Callbacks, ElectionConfig, LeaderElector, Leadership
from tests.support.etcd import start_etcd
from tests.support.waiting import eventually

COMPONENT = "test-component"
KEY = b"/tugboat/leaders/" + COMPONENT.encode()


class Candidate:
    """An in-process elector whose work records when it starts and stops."""

    def __init__(self, endpoint: str, identity: str, ttl: float = 2.0) -> None:
        self.elector = LeaderElector(
            [endpoint],
            ElectionConfig(COMPONENT, identity=identity, lease_ttl=ttl),
            callbacks=Callbacks(new_leader=self.observed.append),
        )
        self.terms: list[Leadership] = []
        self.working = False
        self.cancelled_since_renewal: list[float] = []
        self.task: asyncio.Task[None] | None = None

    @property
    def observed(self) -> list[str]:
        if not hasattr(self, "_observed"):
            self._observed: list[str] = []
        return self._observed

    async def work(self, term: Leadership) -> None:
        self.terms.append(term)
        self.working = True
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            e = self.elector
            self.cancelled_since_renewal.append(e.clock() - e.last_renewal)
            raise
        finally:
            self.working = False

    def start(self) -> None:
        self.task = asyncio.create_task(self.elector.run(self.work))

    async def stop(self) -> None:
        self.elector.stop()
        if self.task is not None:
            with contextlib.suppress(BaseException):
                await within(self.task, timeout=10)

    async def crash(self) -> None:
        """Stop without resigning, as a dying process would."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


@pytest.fixture
async def candidates(etcd_clean):
    made: list[Candidate] = []

    def make(identity: str, ttl: float = 2.0) -> Candidate:
        c = Candidate(etcd_clean.endpoint, identity, ttl)
        made.append(c)
        c.start()
        return c

    yield make
    for c in made:
        await c.stop()


async def holder(endpoint: str) -> aetcd.KeyValue | None:
    host, port = endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as client:
        return await client.get(KEY)


def working(cs: list[Candidate]) -> list[Candidate]:
    return [c for c in cs if c.working]


async def test_only_one_of_three_candidates_leads_and_the_key_names_it(candidates, etcd_clean):
    cs = [candidates(f"c{i}") for i in range(3)]
    [leader] = await eventually(lambda: working(cs), what="a leader")
    for _ in range(20):
        assert len(working(cs)) == 1
        await asyncio.sleep(0.05)
    kv = await holder(etcd_clean.endpoint)
    assert kv is not None
    assert kv.value.decode() == leader.elector.config.identity
    assert leader.terms[0].revision == kv.create_revision
    others = [c for c in cs if c is not leader]
    await eventually(
        lambda: all(c.elector.observed_leader == leader.elector.config.identity for c in others),
        what="standbys observe the leader",
    )


async def test_a_graceful_stop_resigns_and_another_takes_over(candidates, etcd_clean):
    a = candidates("a")
    await eventually(lambda: a.working, what="a leads")
    b = candidates("b")
    await eventually(lambda: b.elector.observed_leader == "a", what="b sees a")
    await a.stop()
    kv_after_resign = await holder(etcd_clean.endpoint)
    # Resigned: the key is gone at once, or already re-created by b.
    assert kv_after_resign is None or kv_after_resign.value == b"b"
    await eventually(lambda: b.working, what="b leads after a resigned")
    assert b.terms[0].revision > a.terms[0].revision


async def test_a_crashed_leaders_key_expires_with_its_lease_and_another_takes_over(
    candidates, etcd_clean
):
    a = candidates("a", ttl=2.0)
    await eventually(lambda: a.working, what="a leads")
    b = candidates("b", ttl=2.0)
    await a.crash()
    assert (await holder(etcd_clean.endpoint)) is not None, "a crash must not resign"
    await eventually(lambda: b.working, timeout=10, what="b leads after a's lease expired")
    kv = await holder(etcd_clean.endpoint)
    assert kv is not None and kv.value == b"b"


async def test_a_leader_whose_lease_is_revoked_stops_its_work(candidates, etcd_clean):
    a = candidates("a", ttl=2.0)
    await eventually(lambda: a.working, what="a leads")
    host, port = etcd_clean.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as client:
        await client.revoke_lease(a.terms[0].lease_id)
    await eventually(lambda: a.cancelled_since_renewal, timeout=10, what="a's work cancelled")
    # It campaigns again and wins a new term with a new fencing revision.
    await eventually(lambda: len(a.terms) == 2, timeout=10, what="a leads again")
    assert a.terms[1].revision > a.terms[0].revision


@pytest.fixture
def private_etcd():
    cluster = start_etcd(1)
    try:
        yield cluster
    finally:
        for m in cluster.members:
            if m.process and m.process.poll() is None:
                m.process.send_signal(signal.SIGCONT)
        cluster.stop()


async def test_a_leader_cut_off_from_etcd_stops_its_work_before_the_lease_could_expire(
    private_etcd,
):
    c = Candidate(private_etcd.endpoint, "a", ttl=3.0)
    c.start()
    try:
        await eventually(lambda: c.working, what="a leads")
        proc = private_etcd.members[0].process
        assert proc is not None
        proc.send_signal(signal.SIGSTOP)
        await eventually(lambda: c.cancelled_since_renewal, timeout=10, what="work cancelled")
        # etcd counts the TTL from when it received the last renewal, which is no earlier
        # than when it was sent: cancelling within the TTL of sending is in time.
        assert c.cancelled_since_renewal[0] < c.elector.config.lease_ttl
        assert not c.elector.is_leader()
        proc.send_signal(signal.SIGCONT)
    finally:
        await c.crash()


CANDIDATE = Path(__file__).with_name("candidate_process.py")


@pytest.fixture
def processes():
    started: list[subprocess.Popen[str]] = []

    def spawn(*args: str) -> subprocess.Popen[str]:
        p = subprocess.Popen(
            [sys.executable, str(CANDIDATE), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        started.append(p)
        return p

    yield spawn
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)


def read_until_leading(p: subprocess.Popen[str]) -> str:
    """Skip log lines until the candidate says it leads (bounded by the stream's end)."""
    assert p.stdout is not None
    for line in p.stdout:
        if line.startswith("LEADING"):
            return line
    return ""


async def test_a_sigkilled_leader_process_is_replaced_within_the_ttl_and_a_bit(
    processes, etcd_clean
):
    first = processes(etcd_clean.endpoint, COMPONENT, "p1", "2")
    line = await within(asyncio.to_thread(read_until_leading, first), timeout=20)
    assert line.startswith("LEADING")
    second = processes(etcd_clean.endpoint, COMPONENT, "p2", "2")
    killed_at = time.monotonic()
    first.kill()
    line = await within(asyncio.to_thread(read_until_leading, second), timeout=20)
    took = time.monotonic() - killed_at
    assert line.startswith("LEADING")
    print(f"fail-over after SIGKILL took {took:.2f}s")


async def test_an_unreachable_first_etcd_endpoint_is_skipped(etcd_clean):
    from tests.support.ports import free_port

    dead = f"127.0.0.1:{free_port()}"
    elector = LeaderElector(
        [dead, etcd_clean.endpoint],
        ElectionConfig(COMPONENT, identity="failover", lease_ttl=2, retry_interval=0.1),
    )
    terms: list[Leadership] = []

    async def work(term: Leadership) -> None:
        terms.append(term)
        await asyncio.Event().wait()

    task = asyncio.create_task(elector.run(work))
    try:
        await eventually(lambda: terms, timeout=20, what="leads through the second endpoint")
    finally:
        elector.stop()
        await within(task, timeout=10)
