"""Leader election on an etcd session lease, with fencing tokens for every leader write.

Design note — what is and is not guaranteed.

How it works. Each candidate grants itself an etcd lease (TTL `lease_ttl`, default 3 s)
and campaigns with one transaction: create `/tugboat/leaders/<component>` holding its
identity, attached to the lease, *only if the key is absent* (`create_revision == 0`).
The winner keeps the lease alive every `renew_interval` (about a third of the TTL) and
runs its leader-only work in a task. The losers watch the key and campaign again the
moment it is deleted (resignation) or expires with its lease (a dead leader).

Guaranteed:
- At most one holder of the key at any etcd revision: the create-if-absent transaction
  is linearizable, and the key dies with its lease.
- Fencing: the leader's token is `Fence(key, create_revision)`. The API server makes
  every fenced write an etcd transaction that also compares the key's create-revision,
  so once this leader's key is gone (expired, or re-created by a successor with a new
  create-revision) every write it still sends fails with FencedOut (FAILED_PRECONDITION).
  This holds however long the old leader was paused: it is the real safety guarantee.
- Prompt stepping down: the leader cancels its work when `renew_deadline` has passed
  since the last renewal that etcd confirmed, measured from when that renewal was *sent*
  (etcd counts the TTL from when it receives it, so later), with a monotonic clock. The
  deadline is shorter than the TTL, so a leader that merely lost etcd stops its work
  before the lease can expire for anyone else.
- Graceful shutdown resigns at once (delete the key guarded by its create-revision, then
  revoke the lease), so a successor takes over without waiting for the TTL.

Not guaranteed:
- That a leader notices losing the lease in time if its whole process is frozen (SIGSTOP,
  a long GC pause, a hung event loop): its timers cannot run. Fencing is what makes that
  case safe; the work is cancelled as soon as the loop runs again.
- Bounded clock drift between this host and etcd is assumed for the prompt step-down,
  not for safety.
- Writes that do not go through the fenced API client (anything outside it) are not
  protected.

This module talks to etcd directly, for the election key and its lease only; every
object write a leader makes still goes through the API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aetcd
import structlog
from prometheus_client import Counter, Gauge

from client.timeouts import within
from client.tls import ClientCredentials
from master.etcdclient import etcd_client
from proto import api_pb2

log = structlog.get_logger("leaderelection")

KEY_PREFIX = "/tugboat/leaders/"
WORK_STOP_TIMEOUT = 10.0
"""Seconds a stepping-down leader waits for its cancelled work to finish."""

IS_LEADER = Gauge(
    "tugboat_leader_is_leader", "1 while this process leads its component.", ["component"]
)
TRANSITIONS = Counter(
    "tugboat_leader_transitions_total",
    "Times this process became leader of its component.",
    ["component"],
)


class ConfigError(ValueError):
    """An election setting that cannot work, naming the setting."""


def default_identity() -> str:
    """hostname-pid: unique per process on a machine."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class ElectionConfig:
    """Settings of one component's election; validated at construction."""

    component: str
    """The component elected, e.g. "tug-scheduler"; names the election key."""
    identity: str = field(default_factory=default_identity)
    """This candidate's name as others see it (the Lease's holderIdentity)."""
    lease_ttl: float = 3.0
    """Seconds the etcd lease lives without renewal (etcd rounds up to whole seconds)."""
    renew_interval: float = 0.0
    """Seconds between renewals; 0 means a third of the TTL."""
    renew_deadline: float = 0.0
    """Seconds after the last confirmed renewal at which the leader stops its work;
    0 means TTL minus a sixth of it. Must lie between renew_interval and lease_ttl."""
    retry_interval: float = 0.5
    """Seconds between attempts when etcd cannot be reached."""

    def __post_init__(self) -> None:
        if not self.component or "/" in self.component:
            raise ConfigError(
                f"component: must be a non-empty name without '/', got {self.component!r}"
            )
        if not self.identity:
            raise ConfigError("identity: must not be empty")
        if self.lease_ttl < 1:
            raise ConfigError(f"lease_ttl: must be at least 1 second, got {self.lease_ttl}")
        if self.renew_interval == 0:
            object.__setattr__(self, "renew_interval", self.lease_ttl / 3)
        if self.renew_deadline == 0:
            object.__setattr__(self, "renew_deadline", self.lease_ttl - self.lease_ttl / 6)
        if not 0 < self.renew_interval < self.lease_ttl:
            raise ConfigError(
                f"renew_interval: must be above 0 and below lease_ttl ({self.lease_ttl}s), "
                f"got {self.renew_interval}s"
            )
        if not self.renew_interval < self.renew_deadline < self.lease_ttl:
            raise ConfigError(
                f"renew_deadline: must lie between renew_interval ({self.renew_interval}s) and "
                f"lease_ttl ({self.lease_ttl}s), got {self.renew_deadline}s"
            )
        if self.retry_interval <= 0:
            raise ConfigError(f"retry_interval: must be above 0, got {self.retry_interval}")

    @property
    def key(self) -> str:
        """The election key in etcd."""
        return KEY_PREFIX + self.component


@dataclass(frozen=True)
class Leadership:
    """One term of office: who, since which revision, under which lease."""

    key: str
    revision: int
    """The election key's create-revision: the fencing token."""
    identity: str
    lease_id: int
    acquired_at: float
    """Monotonic time of the campaign's success."""

    @property
    def fence(self) -> api_pb2.Fence:
        """The Fence to attach to every write of this term (ClientOptions.fence)."""
        return api_pb2.Fence(key=self.key, revision=self.revision)


LeaderWork = Callable[[Leadership], Awaitable[None]]
"""The leader-only work; it is cancelled when leadership ends."""


@dataclass
class Callbacks:
    """Notifications; each is optional and must not block."""

    started_leading: Callable[[Leadership], None] | None = None
    stopped_leading: Callable[[], None] | None = None
    new_leader: Callable[[str], None] | None = None
    """Called with the identity of whoever leads now (this process included)."""


class LeaderElector:
    """Campaign, lead, renew, step down, repeat: until `stop()` or cancellation."""

    def __init__(
        self,
        etcd_endpoints: Sequence[str],
        config: ElectionConfig,
        *,
        callbacks: Callbacks | None = None,
        clock: Callable[[], float] = time.monotonic,
        tls: ClientCredentials | None = None,
    ) -> None:
        if not etcd_endpoints:
            raise ConfigError("etcd_endpoints: at least one host:port is needed")
        self.endpoints = list(etcd_endpoints)
        self.config = config
        self.callbacks = callbacks or Callbacks()
        self.clock = clock
        self.tls = tls
        """etcd's CA and this process's client certificate; None: plaintext."""
        self.leadership: Leadership | None = None
        self.observed_leader = ""
        self.last_renewal = 0.0
        self._client: aetcd.Client | None = None
        self._endpoint_index = 0
        self._stopping = asyncio.Event()
        self._log = log.bind(component=config.component, identity=config.identity, key=config.key)
        # Export both series from the start, so a standby shows 0 rather than nothing.
        IS_LEADER.labels(component=config.component).set(0)
        TRANSITIONS.labels(component=config.component)

    # ---- public ----
    def is_leader(self) -> bool:
        """True while this process holds the key and has renewed within the deadline."""
        return self.leadership is not None and self.healthy()

    def healthy(self) -> bool:
        """False when leading but past the renew deadline (a /healthz check)."""
        if self.leadership is None:
            return True
        return self.clock() - self.last_renewal < self.config.renew_deadline

    def stop(self) -> None:
        """Ask `run` to finish: the work is cancelled, then leadership is resigned."""
        self._stopping.set()

    async def run(self, work: LeaderWork) -> None:
        """Campaign and lead in turns until stopped; resigns on the way out."""
        try:
            while not self._stopping.is_set():
                try:
                    term = await self._acquire()
                    if term is None:
                        continue
                    await self._lead(term, work)
                except (aetcd.ClientError, OSError, TimeoutError) as e:
                    self._log.warning("etcd unavailable, retrying", error=str(e))
                    await self._rotate_endpoint()
                    await self._pause(self.config.retry_interval)
        finally:
            await self._close()

    # ---- acquire ----
    async def _acquire(self) -> Leadership | None:
        """One campaign: lead if the key is free, else wait until it is (or a while)."""
        client = await self._connect()
        lease = await client.lease(max(1, round(self.config.lease_ttl + 0.49)))
        sent = self.clock()
        key = self.config.key.encode()
        tx = client.transactions
        try:
            won, responses = await within(
                client.transaction(
                    compare=[tx.create(key) == 0],
                    success=[tx.put(key, self.config.identity.encode(), lease=lease.id)],
                    failure=[tx.get(key)],
                ),
                timeout=self.config.renew_deadline,
            )
        except BaseException:
            await self._revoke_quietly(lease.id)
            raise
        if won:
            revision = responses[0].response_put.header.revision
            self.last_renewal = sent
            return Leadership(self.config.key, revision, self.config.identity, lease.id, sent)
        await self._revoke_quietly(lease.id)
        holder = b""
        watch_from = 0
        if responses and responses[0]:
            value, meta = responses[0][0]
            holder, watch_from = value, meta.header.revision + 1
        self._observe(holder.decode(errors="replace"))
        if watch_from:
            await self._wait_for_vacancy(client, key, watch_from)
        else:
            await self._pause(self.config.retry_interval)
        return None

    async def _wait_for_vacancy(self, client: aetcd.Client, key: bytes, start: int) -> None:
        """Until the key is deleted (or a TTL passes: then campaign again to re-check)."""
        watch = await client.watch(key, start_revision=start)
        stop_waiter = asyncio.ensure_future(self._stopping.wait())

        async def vacancy() -> None:
            async for event in watch:
                if event.kind == aetcd.EventKind.DELETE:
                    return
                self._observe(event.kv.value.decode(errors="replace"))

        watcher = asyncio.ensure_future(vacancy())
        try:
            await asyncio.wait(
                {watcher, stop_waiter},
                timeout=max(self.config.lease_ttl, 1.0) * 2,
                return_when=asyncio.FIRST_COMPLETED,
            )
            error = watcher.exception() if watcher.done() and not watcher.cancelled() else None
            if error is not None:
                raise error
        finally:
            for t in (watcher, stop_waiter):
                t.cancel()
            await asyncio.gather(watcher, stop_waiter, return_exceptions=True)
            with contextlib.suppress(Exception):
                await within(watch.cancel(), timeout=1.0)

    # ---- lead ----
    async def _lead(self, term: Leadership, work: LeaderWork) -> None:
        """Run the work while renewing; cancel it at the renew deadline; resign on stop."""
        component = self.config.component
        self.leadership = term
        self._observe(term.identity)
        IS_LEADER.labels(component=component).set(1)
        TRANSITIONS.labels(component=component).inc()
        self._log.info("started leading", revision=term.revision, lease=term.lease_id)
        if self.callbacks.started_leading:
            self.callbacks.started_leading(term)
        work_task = asyncio.ensure_future(work(term))
        resign = False
        try:
            resign = await self._renew_until_lost(term, work_task)
        finally:
            # Leader-only work stops first, then the lease goes: never the other way round.
            work_task.cancel()
            self.leadership = None
            IS_LEADER.labels(component=component).set(0)
            stopped, _ = await asyncio.wait({work_task}, timeout=WORK_STOP_TIMEOUT)
            if stopped:
                self._log.info("stopped leading", revision=term.revision, resigning=resign)
            else:
                # Its writes are fenced; the lease is left to expire instead of resigned.
                self._log.error(
                    "leader work ignored cancellation",
                    revision=term.revision,
                    waited=WORK_STOP_TIMEOUT,
                )
            if self.callbacks.stopped_leading:
                self.callbacks.stopped_leading()
            if resign and stopped:
                await self._resign(term)
        if work_task.done() and not work_task.cancelled() and work_task.exception():
            self._log.error("leader work failed", error=repr(work_task.exception()))

    async def _renew_until_lost(self, term: Leadership, work_task: asyncio.Future[None]) -> bool:
        """Renew every interval; True to resign (stop asked or the work ended), False if lost."""
        cfg = self.config
        stop_waiter: asyncio.Future[object] = asyncio.ensure_future(self._stopping.wait())
        watched: set[asyncio.Future[object]] = {work_task, stop_waiter}  # type: ignore[arg-type]
        try:
            while True:
                deadline = self.last_renewal + cfg.renew_deadline
                next_renewal = self.last_renewal + cfg.renew_interval
                wait = max(0.0, min(next_renewal, deadline) - self.clock())
                await asyncio.wait(watched, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                if self._stopping.is_set() or work_task.done():
                    return True
                if self.clock() >= deadline:
                    self._log.warning("renew deadline passed: stepping down")
                    return False
                if not await self._renew_once(term, deadline) and self.clock() >= deadline:
                    self._log.warning("lease lost: stepping down")
                    return False
                if self.last_renewal == -float("inf"):
                    return False
        finally:
            stop_waiter.cancel()
            await asyncio.gather(stop_waiter, return_exceptions=True)

    async def _renew_once(self, term: Leadership, deadline: float) -> bool:
        """One keep-alive, bounded by the deadline; True when etcd confirmed it."""
        sent = self.clock()
        try:
            client = await self._connect()
            reply = await within(
                client.refresh_lease(term.lease_id), timeout=max(0.01, deadline - sent)
            )
        except (aetcd.ClientError, OSError, TimeoutError) as e:
            self._log.warning("renewal failed", error=str(e))
            await self._rotate_endpoint()
            return False
        if reply is None or reply.TTL <= 0:
            # The lease is gone already: no amount of retrying brings it back.
            self.last_renewal = -float("inf")
            return False
        self.last_renewal = sent
        return True

    # ---- release ----
    async def _resign(self, term: Leadership) -> None:
        """Delete the key if it is still ours, then revoke the lease (best effort, bounded)."""
        try:
            client = await self._connect()
            key = term.key.encode()
            tx = client.transactions
            await within(
                client.transaction(
                    compare=[tx.create(key) == term.revision],
                    success=[tx.delete(key)],
                    failure=[],
                ),
                timeout=2.0,
            )
            await within(client.revoke_lease(term.lease_id), timeout=2.0)
            self._log.info("resigned", revision=term.revision)
        except Exception as e:
            self._log.warning("resign failed; the lease will expire", error=str(e))

    # ---- plumbing ----
    def _observe(self, identity: str) -> None:
        if identity and identity != self.observed_leader:
            self.observed_leader = identity
            self._log.info("leader observed", leader=identity)
            if self.callbacks.new_leader:
                self.callbacks.new_leader(identity)

    async def _connect(self) -> aetcd.Client:
        if self._client is None:
            client = etcd_client(
                self.endpoints[self._endpoint_index],
                self.tls,
                timeout=int(max(1, self.config.lease_ttl)),
            )
            await client.connect()
            self._client = client
        return self._client

    async def _rotate_endpoint(self) -> None:
        await self._close()
        self._endpoint_index = (self._endpoint_index + 1) % len(self.endpoints)

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await within(client.close(), timeout=2.0)

    async def _revoke_quietly(self, lease_id: int) -> None:
        with contextlib.suppress(Exception):
            client = await self._connect()
            await within(client.revoke_lease(lease_id), timeout=1.0)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await within(self._stopping.wait(), timeout=seconds)
