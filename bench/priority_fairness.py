"""What API Priority and Fairness buys when one user floods the API server.

    .venv/bin/python -m bench.priority_fairness [--flood 32] [--seconds 12] [--limit 4]

One etcd and, in turn, two API server processes with the same authentication (static
tokens, Node and RBAC) and the same concurrency limit, 4 by default: one dispatching by
API Priority and Fairness (every `tug up` cluster), one with
`--no-enable-priority-and-fairness`, the single `--max-requests-inflight` cap it had
before. The limit is small so that one client process on this two-core machine can fill
it: a Python client decodes slower than the server answers, and would never reach the
default 600. Against each, side by side in one
run: `mallory` lists 300 ConfigMaps from `--flood` concurrent loops for `--seconds`, while
`bob` (the same RBAC rights, another user) gets one ConfigMap every 100 ms and a node
(`system:node:n1`) renews its Lease every 200 ms, as kubelets do.

Printed for each mode: bob's and the node's latencies (p50, p99, the worst) and how many
of their requests were answered, and mallory's lists per second. The headline is bob's
p99 with the cap ÷ with APF: how much longer a bystander waits when the server has one
queue for everyone. Nothing is asserted.

Expected: with the cap, mallory's loops hold most of the slots and bob's requests are
refused (429) and retried after the Retry-After second; with APF, bob and mallory are
different flows of `global-default`, served in turn by fair queuing, so bob waits for
about one of mallory's requests, and the node's renewals run in `node-high`, apart from
both. The node's Lease is never refused under the cap either (Leases are exempt from it),
so its figures show what each costs a heartbeat, not a rescue.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from client.api import ApiClient, ClientOptions
from client.codec import from_dict
from client.timestamps import now_micro
from proto import core_pb2, rbac_pb2, workloads_pb2
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import start_etcd

TOKENS = {
    "admin": ("admin-token", "admin", "system:masters"),
    "mallory": ("mallory-token", "mallory", ""),
    "bob": ("bob-token", "bob", ""),
    "node": ("node-token", "system:node:n1", "system:nodes"),
}
OBJECTS = 300
RBAC_GROUP = "rbac.authorization.k8s.io"
BOB_EVERY = 0.1
NODE_EVERY = 0.2


def _token_file(work: Path) -> Path:
    path = work / "tokens.csv"
    path.write_text("".join(f'{t},{u},{u},"{g}"\n' for t, u, g in TOKENS.values()))
    return path


def _configmap(name: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name, cm.metadata.namespace = name, "default"
    cm.data["payload"] = "x" * 256
    return cm


async def _prepare(admin: ApiClient) -> None:
    """mallory and bob may edit the namespace; 300 ConfigMaps to list."""
    binding: rbac_pb2.RoleBinding = from_dict(
        rbac_pb2.RoleBinding,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "bench-edit", "namespace": "default"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "edit",
            },
            "subjects": [
                {"kind": "User", "name": who, "apiGroup": RBAC_GROUP} for who in ("mallory", "bob")
            ],
        },
    )
    await admin.create(binding)
    for start in range(0, OBJECTS, 50):
        await asyncio.gather(
            *(admin.create(_configmap(f"cm-{i}")) for i in range(start, min(OBJECTS, start + 50)))
        )


def _client(server: ApiServerProcess, who: str) -> ApiClient:
    return ApiClient([server.endpoint], ClientOptions(token=TOKENS[who][0], timeout=30.0))


async def _every(
    period: float, until: float, call: Callable[[], Awaitable[object]]
) -> tuple[list[float], int]:
    """Call `call` every `period` s until `until`: latencies of those answered, failures."""
    latencies: list[float] = []
    failed = 0
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        started = loop.time()
        try:
            await call()
            latencies.append(loop.time() - started)
        except Exception:
            failed += 1
        await asyncio.sleep(max(0.0, period - (loop.time() - started)))
    return latencies, failed


async def _flood(client: ApiClient, loops: int, until: float) -> tuple[int, int]:
    """Lists from `loops` concurrent loops until `until`: (answered, failed)."""
    answered = failed = 0
    loop = asyncio.get_running_loop()

    async def one() -> None:
        nonlocal answered, failed
        while loop.time() < until:
            try:
                await client.list("configmaps", "default")
                answered += 1
            except Exception:
                failed += 1

    await asyncio.gather(*(one() for _ in range(loops)))
    return answered, failed


def _ms(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(server: ApiServerProcess, flood: int, seconds: float) -> dict[str, float]:
    admin, mallory, bob, node = (_client(server, w) for w in ("admin", "mallory", "bob", "node"))
    try:
        await _prepare(admin)
        lease = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
        lease.metadata.name, lease.metadata.namespace = "n1", "kube-node-lease"
        lease.spec.holder_identity = "n1"
        current = await node.create(lease)

        async def renew() -> None:
            nonlocal current
            current.spec.renew_time = now_micro()
            current = await node.update(current)

        until = asyncio.get_running_loop().time() + seconds
        started = time.monotonic()
        (
            (lists, lists_failed),
            (bob_lat, bob_failed),
            (node_lat, node_failed),
        ) = await asyncio.gather(
            _flood(mallory, flood, until),
            _every(BOB_EVERY, until, lambda: bob.get("configmaps", "default", "cm-0")),
            _every(NODE_EVERY, until, renew),
        )
        wall = time.monotonic() - started
        return {
            "mallory_lists_per_second": lists / wall,
            "mallory_failed": lists_failed,
            "bob_p50_ms": _ms(bob_lat, 0.5),
            "bob_p99_ms": _ms(bob_lat, 0.99),
            "bob_worst_ms": _ms(bob_lat, 1.0),
            "bob_answered": len(bob_lat),
            "bob_failed": bob_failed,
            "node_p50_ms": _ms(node_lat, 0.5),
            "node_p99_ms": _ms(node_lat, 0.99),
            "node_answered": len(node_lat),
            "node_failed": node_failed,
        }
    finally:
        for client in (admin, mallory, bob, node):
            await client.close()


async def run(flood: int, seconds: float, limit: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="tugboat-bench-apf-") as work:
        tokens = _token_file(Path(work))
        common = [
            "--token-auth-file", str(tokens),
            "--authorization-mode", "Node,RBAC",
            "--max-requests-inflight", str(limit),
            "--max-mutating-requests-inflight", "0",
        ]  # fmt: skip
        for mode, extra in (("apf", []), ("cap", ["--no-enable-priority-and-fairness"])):
            etcd = start_etcd(1)
            server = None
            try:
                server = ApiServerProcess.start(
                    etcd.endpoints, name=f"bench-{mode}", extra_args=[*common, *extra]
                )
                results[mode] = await _measure(server, flood, seconds)
            finally:
                if server is not None:
                    server.stop()
                etcd.stop()
    return results


def _print(results: dict[str, dict[str, float]], flood: int, seconds: float, limit: int) -> None:
    print(
        f"one user flooding with {flood} concurrent lists of {OBJECTS} ConfigMaps for "
        f"{seconds:g} s; another getting one every {BOB_EVERY * 1000:.0f} ms; a node renewing "
        f"its Lease every {NODE_EVERY * 1000:.0f} ms; server concurrency limit {limit}"
    )
    for mode, name in (("apf", "API Priority and Fairness"), ("cap", "inflight cap only")):
        f = results[mode]
        print(f"{name}:")
        print(
            f"  bystander get: p50 {f['bob_p50_ms']:.1f} ms, p99 {f['bob_p99_ms']:.1f} ms, "
            f"worst {f['bob_worst_ms']:.1f} ms; {f['bob_answered']:.0f} answered, "
            f"{f['bob_failed']:.0f} failed"
        )
        print(
            f"  node Lease renewal: p50 {f['node_p50_ms']:.1f} ms, p99 {f['node_p99_ms']:.1f} ms; "
            f"{f['node_answered']:.0f} answered, {f['node_failed']:.0f} failed"
        )
        print(
            f"  flood: {f['mallory_lists_per_second']:.1f} lists/s, "
            f"{f['mallory_failed']:.0f} failed"
        )
    apf, cap = results["apf"], results["cap"]
    print(
        "bystander's p99 under the flood, inflight cap ÷ API Priority and Fairness ratio: "
        f"{cap['bob_p99_ms'] / apf['bob_p99_ms']:.2f}"
    )
    print(
        "node Lease renewal p99, inflight cap ÷ API Priority and Fairness ratio: "
        f"{cap['node_p99_ms'] / apf['node_p99_ms']:.2f}"
    )
    print(
        "flood lists/s, API Priority and Fairness ÷ inflight cap ratio: "
        f"{apf['mallory_lists_per_second'] / cap['mallory_lists_per_second']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flood", type=int, default=32, help="the flooding user's loops")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument(
        "--limit", type=int, default=4, help="the server's concurrency limit, both modes"
    )
    a = parser.parse_args()
    results = asyncio.run(run(a.flood, a.seconds, a.limit))
    _print(results, a.flood, a.seconds, a.limit)


if __name__ == "__main__":
    main()
