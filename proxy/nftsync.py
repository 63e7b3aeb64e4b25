"""Loading the nftables rule set: one `nft -f -` transaction per sync.

Why it is built this way:

- The script from `nftables.render` replaces the proxy's table whole, and `nft -f` applies
  a script as one netlink transaction: either every rule of the new set is in place or,
  when nft refuses the script, the old set stays as it was. There is no incremental
  patching to get wrong, and a proxy that crashed mid-sync left nothing half done.
- On start the syncer only looks for a table of its name left by a crashed proxy and
  says so; the first sync replaces it with the same transaction as any other sync (no
  window without rules, which deleting it first would open).
- On a clean stop the table is deleted, so a node whose proxy is gone has no stale
  DNATs to endpoints that may move.
- Replacing the table would also empty the ClientIP affinity sets, so every change
  anywhere would make every client pick afresh. Before a replace, the syncer reads the
  affinity sets' entries (`nft -j list sets`) and adds the ones whose set survives back
  in the same transaction, with the time they had left. A periodic resync whose rule set
  is unchanged only checks that the table is still there, and reloads it if it is not.
- Rate limiting and batching are the proxier's sync loop (a minimum interval between
  syncs, a periodic full resync); this class is one sync at a time, and says how long
  it took and how many rules it loaded.
- `nft` runs as a subprocess with a bounded wait, behind a command prefix so tests can
  run it inside a network namespace of their own (`ip netns exec NS nft`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence

import structlog

from client import commands
from proxy import metrics
from proxy.nftables import NftConfig, delete_script, render, rule_count
from proxy.table import ServicePort

__all__ = ["NftError", "NftSyncer", "run_nft", "table_exists"]

log = structlog.get_logger("proxy.nftables")

_NFT_TIMEOUT = 10.0
_AFFINITY_SET = re.compile(
    r"^\tset (aff-\S+) \{\n\t\ttype ipv4_addr\n.*\n\t\ttimeout (\d+)s$", re.M
)


class NftError(RuntimeError):
    """nft refused a script or did not answer; the message holds its error output."""


async def run_nft(command: Sequence[str], *args: str, stdin: str | None = None) -> str:
    """`nft ARGS` behind `command` (a prefix such as `ip netns exec NS nft`), bounded."""
    return await commands.run(
        [*command, *args],
        timeout=_NFT_TIMEOUT,
        error=NftError,
        what=f"nft {' '.join(args)}",
        stdin=stdin,
    )


async def table_exists(command: Sequence[str], table: str) -> bool:
    """Whether table `ip TABLE` is in the kernel now."""
    try:
        await run_nft(command, "list", "table", "ip", table)
    except NftError:
        return False
    return True


class NftSyncer:
    """Loads rule sets into one table; `start()`, `sync(ports)`..., `stop()`."""

    def __init__(self, config: NftConfig, command: Sequence[str] = ("nft",)) -> None:
        self.config = config
        self.command = tuple(command)
        self.script = ""
        """The last script loaded (empty before the first sync)."""
        self.syncs = 0

    async def _nft(self, *args: str, stdin: str | None = None) -> str:
        return await run_nft(self.command, *args, stdin=stdin)

    async def table_exists(self) -> bool:
        """Whether the table is in the kernel now."""
        return await table_exists(self.command, self.config.table)

    async def start(self) -> None:
        """Check that nft works; note a stale table (the first sync replaces it)."""
        await self._nft("--version")
        if await self.table_exists():
            log.warning(
                "found a table left by an earlier proxy; the first sync replaces it",
                table=self.config.table,
            )
            metrics.NFT_STALE_TABLES.inc()

    async def _affinity_entries(self, script: str) -> list[str]:
        """`add element` lines that keep the live affinity entries of sets in `script`."""
        wanted = {m[1]: int(m[2]) for m in _AFFINITY_SET.finditer(script)}
        if not wanted:
            return []
        try:
            listing = json.loads(await self._nft("-j", "list", "sets", "ip"))
        except (NftError, ValueError):
            return []  # no table yet, or nothing to read: nothing to keep
        lines = []
        for item in listing.get("nftables", []):
            found = item.get("set", {})
            timeout = wanted.get(found.get("name", ""))
            if found.get("table") != self.config.table or timeout is None:
                continue
            kept = []
            for e in found.get("elem", []):
                inner = e.get("elem", {}) if isinstance(e, dict) else {}
                if isinstance(inner.get("val"), str) and isinstance(inner.get("expires"), int):
                    expires = max(1, min(timeout, inner["expires"]))
                    kept.append(f"{inner['val']} timeout {timeout}s expires {expires}s")
            if kept:
                lines.append(
                    f"add element ip {self.config.table} {found['name']} {{ {', '.join(kept)} }}"
                )
        return lines

    async def sync(self, ports: Iterable[ServicePort]) -> None:
        """Replace the table with the rule set for `ports`, in one transaction."""
        ports = list(ports)
        script = render(ports, self.config)
        started = time.perf_counter()
        if script == self.script and await self.table_exists():
            # A resync with nothing changed: the rules are there; replacing them would
            # only cost time. (A table someone deleted is loaded again below.)
            metrics.RULES_LAST_SYNC.set(time.time())
            self.syncs += 1
            return
        kept = await self._affinity_entries(script)
        try:
            await self._nft("-f", "-", stdin=script + "".join(line + "\n" for line in kept))
        except NftError:
            metrics.NFT_SYNC_FAILURES.inc()
            raise
        elapsed = time.perf_counter() - started
        rules = rule_count(script)
        metrics.RULES_SYNC_DURATION.observe(elapsed)
        metrics.RULES_LAST_SYNC.set(time.time())
        metrics.NFT_RULES.set(rules)
        _count_no_local_endpoints(ports)
        if script != self.script:
            log.info(
                "nftables rules loaded",
                table=self.config.table,
                rules=rules,
                seconds=round(elapsed, 4),
            )
        self.script = script
        self.syncs += 1

    async def stop(self) -> None:
        """Remove the table (a clean stop leaves no rules behind)."""
        await self._nft("-f", "-", stdin=delete_script(self.config.table))
        metrics.NFT_RULES.set(0)
        log.info("nftables table removed", table=self.config.table)


def _count_no_local_endpoints(ports: list[ServicePort]) -> None:
    """kube-proxy's gauge of service ports whose Local policy leaves this node nothing."""
    stranded = [sp for sp in ports if sp.backends and not sp.local_backends]
    internal = sum(1 for sp in stranded if sp.internal_local)
    external = sum(1 for sp in stranded if sp.external_local and (sp.node_port or sp.external_ips))
    metrics.NO_LOCAL_ENDPOINTS.labels(traffic_policy="internal").set(internal)
    metrics.NO_LOCAL_ENDPOINTS.labels(traffic_policy="external").set(external)
