"""The node's NetworkPolicy enforcer: informers in, one nftables table out.

It runs inside `tug-proxy` in nftables mode, the mode in which the proxy owns its node's
network namespace and its kernel rules (in Kubernetes a network plugin's node agent
does this, beside kube-proxy). Level-triggered like the proxier: any change of a policy,
a pod or a namespace only wakes the loop, and each sync recomputes the whole rule set
from the three caches (`netpol.isolations`, `netpol_rules.render`) and loads it in one
transaction when it differs from the last, so a missed event or a reconnect costs
nothing but the next sync. A periodic resync puts back a table someone deleted.

On the loopback driver every node shares one network namespace, where one node's rules
would filter the others' pods, so policies are not enforced there (docs/networking.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog

from client.api import ApiClient
from client.informer import Informer
from client.timeouts import cancel_and_wait
from proto import core_pb2, networking_pb2
from proxy import metrics
from proxy.netpol import isolations
from proxy.netpol_rules import TABLE, delete_script, render, rule_count
from proxy.nftsync import NftError, run_nft, table_exists
from proxy.syncloop import run_sync_loop

__all__ = ["NetworkPolicyAgent"]

log = structlog.get_logger("proxy.netpol")


class NetworkPolicyAgent:
    """Enforces the cluster's NetworkPolicies for the pods of `node`; `start()`, `stop()`."""

    def __init__(
        self,
        api: ApiClient,
        node: str,
        *,
        command: Sequence[str] = ("nft",),
        min_sync_interval: float = 0.25,
        sync_period: float = 10.0,
    ) -> None:
        self.node = node
        self.command = tuple(command)
        self.min_sync_interval = min_sync_interval
        self.sync_period = sync_period
        self.policies: Informer[networking_pb2.NetworkPolicy] = Informer(api, "networkpolicies")
        self.pods: Informer[core_pb2.Pod] = Informer(api, "pods")
        self.namespaces: Informer[core_pb2.Namespace] = Informer(api, "namespaces")
        self._changed = asyncio.Event()
        for informer in (self.policies, self.pods, self.namespaces):
            informer.add_key_handler(lambda _key: self._changed.set())
        self.script = ""
        self.syncs = 0
        self._task: asyncio.Task[None] | None = None

    async def _nft(self, *args: str, stdin: str | None = None) -> str:
        return await run_nft(self.command, *args, stdin=stdin)

    async def start(self) -> None:
        await self._nft("--version")  # no nft: fail at start, not at every sync
        for informer in (self.policies, self.pods, self.namespaces):
            informer.start()
        self._task = asyncio.create_task(self._loop(), name="netpol-sync")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], timeout=5.0)
            self._task = None
        for informer in (self.policies, self.pods, self.namespaces):
            await informer.stop()
        try:
            await self._nft("-f", "-", stdin=delete_script())
        except NftError as e:
            log.warning("cannot remove the network policy table", table=TABLE, error=str(e))
        metrics.NETPOL_RULES.set(0)

    async def _loop(self) -> None:
        for informer in (self.policies, self.pods, self.namespaces):
            await informer.wait_synced()

        def failed() -> None:
            metrics.NETPOL_SYNC_FAILURES.inc()
            log.exception("network policy sync failed", node=self.node)

        await run_sync_loop(
            self.sync,
            self._changed,
            min_interval=self.min_sync_interval,
            period=self.sync_period,
            failed=failed,
        )

    async def sync(self) -> None:
        """Load the rule set the caches call for, unless it is loaded already."""
        namespaces = {
            ns.metadata.name: dict(ns.metadata.labels) for ns in self.namespaces.list(copy=False)
        }
        isolated = isolations(
            self.policies.list(copy=False), self.pods.list(copy=False), namespaces, self.node
        )
        script = render(isolated)
        if script == self.script and await table_exists(self.command, TABLE):
            self.syncs += 1
            return
        started = time.perf_counter()
        await self._nft("-f", "-", stdin=script)
        rules = rule_count(script)
        metrics.NETPOL_RULES.set(rules)
        metrics.NETPOL_ISOLATED_PODS.set(len(isolated))
        if script != self.script:
            log.info(
                "network policy rules loaded",
                node=self.node,
                table=TABLE,
                isolated=[i.key for i in isolated],
                rules=rules,
                seconds=round(time.perf_counter() - started, 4),
            )
        self.script = script
        self.syncs += 1
