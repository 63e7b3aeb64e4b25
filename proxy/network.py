"""The `tugboat-svc` interface: where ClusterIPs become local addresses.

A userspace proxy can only accept on addresses of a local interface, and a ClusterIP must
be reachable both from the host (tests, curl) and from inside pod containers. The proxy
therefore creates an interface of the project's own, `tugboat-svc`, and puts on it each
ClusterIP (and the cluster DNS address) as a /32:

- from the host, the address is local, so connections land on the proxy's sockets;
- from a pod, the packet leaves through the pod's default gateway (its node's Docker
  bridge), reaches the host, and the host delivers it locally the same way.

The interface is a Linux bridge with no ports: the kernel's `dummy` type would do, but
its module is not present on every host, and a port-less bridge carries addresses just
as well. A route for the whole service range points at the interface, so a ClusterIP
that is not (or no longer) assigned is unreachable here and never leaks to any other
network. Several proxies on one machine (one per local node) share the interface and
its addresses; their listeners share ports with SO_REUSEPORT.

Changes go through `ip` (iproute2) run as subprocesses; they need root (CAP_NET_ADMIN).
On shutdown a proxy removes only the addresses no other process still listens on, and
the interface once it carries none.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import structlog

from client import commands

__all__ = ["INTERFACE", "Interface", "NetworkError", "listening_ips"]

log = structlog.get_logger("proxy.network")

INTERFACE = "tugboat-svc"
_IP_TIMEOUT = 10.0


class NetworkError(RuntimeError):
    """An `ip` command failed; the message holds the command and its error output."""


async def _ip(*args: str, check: bool = True) -> str:
    return await commands.run(["ip", *args], timeout=_IP_TIMEOUT, error=NetworkError, check=check)


def _hex_ipv4(text: str) -> str:
    """/proc/net's little-endian hex address as dotted quad."""
    raw = bytes.fromhex(text)
    return ".".join(str(b) for b in reversed(raw))


def listening_ips(proc_net: Path = Path("/proc/net")) -> set[str]:
    """IPv4 addresses some socket on this host is bound to (TCP listening, or UDP)."""
    found: set[str] = set()
    for name, listen_only in (("tcp", True), ("udp", False)):
        try:
            lines = (proc_net / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4:
                continue
            if listen_only and fields[3] != "0A":  # TCP_LISTEN
                continue
            found.add(_hex_ipv4(fields[1].split(":")[0]))
    return found


class Interface:
    """The ClusterIP interface: ensure it exists, add and remove /32 addresses."""

    def __init__(self, name: str, service_range: str) -> None:
        self.name = name
        self.service_range = str(ipaddress.ip_network(service_range, strict=False))
        self.addresses: set[str] = set()
        """Addresses this proxy added or found and uses."""
        self._stale: set[str] = set()
        """Addresses no longer wanted, removed once nothing listens on them."""
        self._synced = False

    async def ensure(self) -> None:
        """Create the interface (if missing), bring it up and route the range to it."""
        links = await _ip("-o", "link", "show", "dev", self.name, check=False)
        if self.name not in links:
            try:
                await _ip("link", "add", self.name, "type", "bridge")
            except NetworkError as e:
                if "File exists" not in str(e):
                    raise
            log.info("interface created", interface=self.name)
        await _ip("link", "set", self.name, "up")
        await _ip("route", "replace", self.service_range, "dev", self.name)

    async def present(self) -> set[str]:
        """The IPv4 addresses on the interface now (empty if it does not exist)."""
        out = await _ip("-o", "-4", "addr", "show", "dev", self.name, check=False)
        found = set()
        for line in out.splitlines():
            parts = line.split()
            if "inet" in parts:
                found.add(parts[parts.index("inet") + 1].split("/")[0])
        return found

    async def sync(self, wanted: set[str]) -> None:
        """Make `wanted` present; forget (and remove, if unused) the ones no longer wanted."""
        present = await self.present()
        if wanted and not present and self.name:
            await self.ensure()
        for ip in sorted(wanted - present):
            try:
                await _ip("addr", "add", f"{ip}/32", "dev", self.name)
            except NetworkError as e:
                if "File exists" not in str(e):
                    raise
            log.info("address added", interface=self.name, key=ip)
        if not self._synced:
            # Left by a proxy that died without cleaning up; pruned if nothing listens there.
            self._stale |= present - wanted
            self._synced = True
        self._stale |= self.addresses - wanted
        self._stale -= wanted
        self.addresses = set(wanted)

    async def prune(self) -> None:
        """Remove the addresses no longer wanted, once no socket listens on them any more.

        Call it after closing the listeners; one still in use elsewhere is retried later.
        """
        self._stale = await self._remove_unused(self._stale)

    async def _remove_unused(self, candidates: set[str]) -> set[str]:
        """Remove the candidates nobody listens on; the ones left in place."""
        if not candidates:
            return set()
        busy = listening_ips()
        present = await self.present()
        for ip in sorted((candidates & present) - busy):
            await _ip("addr", "del", f"{ip}/32", "dev", self.name, check=False)
            log.info("address removed", interface=self.name, key=ip)
        return candidates & present & busy

    async def release(self) -> None:
        """On shutdown: remove our addresses nobody listens on; the interface if bare."""
        left = self.addresses | self._stale
        # Closed sockets may linger a loop turn or two (uvloop closes handles later).
        for _ in range(20):
            left = await self._remove_unused(left)
            if not left:
                break
            await asyncio.sleep(0.05)
        self.addresses.clear()
        self._stale.clear()
        if not await self.present():
            await _ip("link", "del", self.name, check=False)
            log.info("interface removed", interface=self.name)
