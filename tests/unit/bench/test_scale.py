"""bench/scale.py tells starved simulated nodes from a late control plane: the share of a
core each process used, the kubelets' failed renewals by cause and the renewals they
began late, read back by bench/run.py with the other figures."""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

from client.errors import Conflict

# Imported by name, as in test_run.py: mypy checks bench/ as top-level scripts.
scale: Any = importlib.import_module("bench.scale")
run: Any = importlib.import_module("bench.run")

KUBELET_LOG = "\n".join(
    [
        '{"node": "sim0-1", "event": "lease renewed again: reconciling before starting anything"}',
        '{"node": "sim0-2", "error": "Update leases kube-node-lease/sim0-2: no API server '
        'answered (127.0.0.1:1: DEADLINE_EXCEEDED: Deadline Exceeded)", '
        '"event": "lease renewal failed"}',
        '{"node": "sim0-3", "error": "Operation cannot be fulfilled on leases.coordination.k8s.io '
        '\\"sim0-3\\": the object has been modified; please apply your changes to the latest '
        'version and try again", "event": "lease renewal failed"}',
        '{"node": "sim0-4", "error": "leases \\"sim0-4\\" not found", '
        '"event": "lease renewal failed"}',
        '{"node": "sim0-5", "error": "DEADLINE_EXCEEDED", "event": "lease renewal failed"}',
        '{"node": "sim0-6", "seconds": 21.3, "event": "lease renewed after a gap"}',
        '{"node": "sim0-7", "seconds": 42.5, "event": "lease renewed after a gap"}',
    ]
)

OUTPUT = """5000 simulated nodes in 4 processes Ready in 48.6 s
3000 replicas Running in 94.8 s: 31.6 pods/s
CPU during the rollout (share of one core; this machine has 2):
  apiserver                 0.87
  etcd                      0.42
  kubelets                  0.38 (4 processes at nice 10, 0.09-0.10 each)
  all                       1.83
lease renewals that failed: 7 timed out, 3 lost a race, 0 other
renewals begun late (over 2 periods after the last): 12, 4 of them 40 s or more (longest 51.0 s)
false NotReady nodes: 0
"""


def test_failed_renewals_are_counted_by_their_cause():
    causes = scale.renewal_failures(KUBELET_LOG)

    assert causes == {"timed out": 2, "lost a race": 1, "other": 1}


def test_renewals_a_node_began_late_are_read_with_their_gaps():
    assert scale.renewal_gaps(KUBELET_LOG) == [21.3, 42.5]


def test_a_busy_process_shows_a_share_of_a_core_and_a_gone_one_none():
    shares = scale.CpuShares({"me": os.getpid(), "gone": 2**22 + 7})
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # bounded: 0.3 s of work to measure
        sum(range(1000))

    measured = shares.shares()

    assert measured["me"] > 0  # even a loaded machine gives it a few 10 ms ticks
    assert measured["gone"] == 0.0


def test_the_cpu_shares_and_renewal_failures_are_read_back_as_figures():
    figures = run._scale(OUTPUT, "false_not_ready")

    assert figures["kubelets_cpu_share"] == 0.38
    assert figures["all_cpu_share"] == 1.83
    assert figures["renewals_timed_out"] == 7
    assert figures["renewals_lost_race"] == 3
    assert figures["renewals_begun_late"] == 12
    assert figures["renewals_begun_past_grace"] == 4


class _Server:
    def __init__(self, pid: int) -> None:
        self.process = type("P", (), {"pid": pid})()


def test_each_api_server_is_named_for_its_cpu_line_the_first_as_before():
    pids = scale.apiserver_pids([_Server(10), _Server(11), _Server(12)])

    assert pids == {"apiserver": 10, "apiserver-2": 11, "apiserver-3": 12}


class StoredApi:
    """Stores what is created; the first update of each object fails with a Conflict."""

    def __init__(self) -> None:
        self.stored: dict[str, Any] = {}
        self.refused: set[str] = set()

    async def create(self, obj: Any) -> Any:
        self.stored[obj.metadata.name + obj.kind] = obj
        return obj

    async def get(self, resource: str, namespace: str, name: str) -> Any:
        kind = {"configmaps": "ConfigMap", "leases": "Lease"}.get(resource, "")
        return self.stored.get(name + kind, resource)

    async def update(self, obj: Any) -> Any:
        key = obj.metadata.name + obj.kind
        if key not in self.refused:
            self.refused.add(key)
            raise Conflict("the object has been modified")
        self.stored[key] = obj
        return obj


async def test_round_trips_time_every_call_count_failures_and_read_back_as_figures():
    trips = scale.RoundTrips(StoredApi(), every=0.0)

    await trips.run(rounds=3)
    line = trips.summary()

    assert {call: len(s) for call, s in trips.seconds.items()} == {
        "get": 3,
        "update": 3,
        "lease update": 3,
    }
    assert trips.failed == 2  # each object's first update
    assert "longest of 3" in line and line.endswith("; 2 failed")
    figures = run._scale(OUTPUT + line + "\n", "pods_per_second")
    assert set(figures) >= {"update_wait_longest_ms", "lease_update_wait_longest_ms"}
