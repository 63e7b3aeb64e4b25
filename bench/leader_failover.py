"""Leader fail-over time: from kill -9 of the leading scheduler to the new leader's first bind.

    .venv/bin/python -m bench.leader_failover [--rounds 3] [--lease 3]

Starts its own etcd, an in-process API server, one Node object and three `tug-scheduler`
processes. Each round kills the leader with SIGKILL, creates a pod at once and times
until it is bound; the killed scheduler is restarted for the next round. Prints figures,
asserts nothing. Every process it starts is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import time

import aetcd

from client.api import ApiClient
from proto import core_pb2
from tests.integration.scheduler.sched_harness import SchedulerProcess, node, pod
from tests.support.apiserver import running_apiserver
from tests.support.etcd import start_etcd

KEY = b"/tugboat/leaders/tug-scheduler"
ROUND_LIMIT = 60.0


async def holder(etcd_endpoint: str) -> str:
    host, port = etcd_endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as client:
        kv = await client.get(KEY)
    return kv.value.decode() if kv is not None else ""


async def bound(api: ApiClient, name: str) -> bool:
    p = await api.get("pods", "default", name)
    return isinstance(p, core_pb2.Pod) and bool(p.spec.node_name)


async def until(check, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.01)
    return False


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lease", type=float, default=3.0, help="--leader-lease seconds")
    a = parser.parse_args()
    etcd = start_etcd(1)
    procs: list[SchedulerProcess] = []
    try:
        async with running_apiserver(etcd.endpoints, http=False) as server:
            async with ApiClient([server.endpoint]) as api:
                await api.create(node("n1", cpu="64", memory="128Gi"))
                for i in range(3):
                    procs.append(
                        SchedulerProcess(f"sched-{i}", [server.endpoint], etcd.endpoints, a.lease)
                    )
                await api.create(pod("warm-up"))
                if not await until(lambda: bound(api, "warm-up"), ROUND_LIMIT):
                    print("no scheduler bound the warm-up pod; giving up")
                    return
                figures = []
                for r in range(a.rounds):
                    leader_name = await holder(etcd.endpoint)
                    leader = next(p for p in procs if p.name == leader_name)
                    leader.signal(signal.SIGKILL)
                    killed = time.monotonic()
                    name = f"round-{r}"
                    await api.create(pod(name))
                    if await until(lambda n=name: bound(api, n), ROUND_LIMIT):
                        took = time.monotonic() - killed
                        figures.append(took)
                        print(f"round {r}: killed {leader_name}, bound {took:.2f}s later")
                    else:
                        print(f"round {r}: not bound within {ROUND_LIMIT}s")
                    leader.stop()
                    procs[procs.index(leader)] = SchedulerProcess(
                        leader.name, [server.endpoint], etcd.endpoints, a.lease
                    )
                if figures:
                    print(
                        f"fail-over with --leader-lease {a.lease}: median "
                        f"{statistics.median(figures):.2f}s, max {max(figures):.2f}s "
                        f"over {len(figures)} rounds"
                    )
    finally:
        for p in procs:
            p.stop()
        etcd.stop()


if __name__ == "__main__":
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    asyncio.run(main())
