"""A history of client operations on registers, recorded as Jepsen records one.

Each operation is written down twice: when a client invokes it and when it completes,
with the monotonic clock of this one test process, so that real-time order between
operations is known exactly. An operation whose outcome the client cannot know (a
timeout, an unreachable server, a reset stream) is completed as UNKNOWN with no end
time: it may have taken effect at any moment after its invocation, or never.

The registers are ConfigMaps in one namespace, a key each, holding a value in
`data["v"]`. Every write carries a value no other write uses, so a value names the
write that produced it: a compare-and-set on a resourceVersion is then the same as a
compare-and-set on the value read with it, which lets the model stay a plain register.
The recording client makes one attempt per call (`max_retries=1`): a retry inside the
API client could turn an applied create into AlreadyExists, which would be a true
answer to the retry and a false one to the operation recorded.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from client.api import ApiClient
from client.errors import AlreadyExists, ApiError, Conflict, NotFound
from proto import core_pb2, meta_pb2


class Kind(enum.Enum):
    CREATE = "create"
    GET = "get"
    UPDATE = "update"
    DELETE = "delete"
    LIST = "list"


class Outcome(enum.Enum):
    OK = "ok"
    EXISTS = "exists"
    """A create refused with AlreadyExists."""
    CONFLICT = "conflict"
    """An update refused because the resourceVersion moved on."""
    NOT_FOUND = "not-found"
    UNKNOWN = "unknown"
    """Timed out or cut off: it may or may not have taken effect."""


@dataclass
class Op:
    """One operation on one key (a list is one Op with `observed` for every key)."""

    id: int
    process: int
    kind: Kind
    key: str
    invoke: float
    value: str | None = None
    """What a create or update writes."""
    expect: str | None = None
    """The value an update's resourceVersion was read with (compare-and-set)."""
    complete: float | None = None
    """None while running, and forever for an UNKNOWN outcome."""
    outcome: Outcome | None = None
    output: str | None = None
    """What a get read (None: absent), or what a delete removed."""
    version: int = 0
    """The resourceVersion a successful create or update returned."""
    observed: dict[str, str | None] = field(default_factory=dict)
    """A list's reading of every key of the test (None: absent)."""

    def describe(self) -> str:
        args = {
            Kind.CREATE: f"{self.value}",
            Kind.UPDATE: f"{self.expect}->{self.value}",
        }.get(self.kind, "")
        done = "..." if self.complete is None else f"{self.complete:.3f}"
        out = f" {self.output}" if self.output is not None else ""
        return (
            f"#{self.id} p{self.process} {self.kind.value}({self.key} {args}) "
            f"[{self.invoke:.3f}, {done}] -> {self.outcome.value if self.outcome else '?'}{out}"
        )


@dataclass
class History:
    """Every operation of every client, in invocation order."""

    ops: list[Op] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def invoke(self, process: int, kind: Kind, key: str, **fields: str | None) -> Op:
        op = Op(id=next(self._ids), process=process, kind=kind, key=key, invoke=self.clock())
        for name, value in fields.items():
            setattr(op, name, value)
        self.ops.append(op)
        return op

    def complete(self, op: Op, outcome: Outcome, output: str | None = None) -> None:
        op.outcome, op.output = outcome, output
        if outcome is not Outcome.UNKNOWN:
            op.complete = self.clock()

    def counts(self) -> dict[str, int]:
        """Operations by outcome, for the test's summary line."""
        result: dict[str, int] = {}
        for op in self.ops:
            name = op.outcome.value if op.outcome else "running"
            result[name] = result.get(name, 0) + 1
        return result


def _value(cm: core_pb2.ConfigMap) -> str:
    return cm.data.get("v", "")


@dataclass
class RegisterClient:
    """One process of the history: a client that records each call it makes."""

    api: ApiClient
    history: History
    process: int
    namespace: str
    keys: list[str]

    def _configmap(self, key: str, value: str, version: str = "") -> core_pb2.ConfigMap:
        meta = meta_pb2.ObjectMeta(name=key, namespace=self.namespace, resource_version=version)
        return core_pb2.ConfigMap(metadata=meta, data={"v": value})

    async def create(self, key: str, value: str) -> None:
        op = self.history.invoke(self.process, Kind.CREATE, key, value=value)
        try:
            created = await self.api.create(self._configmap(key, value))
        except AlreadyExists:
            self.history.complete(op, Outcome.EXISTS)
        except ApiError:
            self.history.complete(op, Outcome.UNKNOWN)
        else:
            op.version = int(created.metadata.resource_version)
            self.history.complete(op, Outcome.OK)

    async def read(self, key: str) -> tuple[str, str] | None:
        """A recorded get; the value and resourceVersion read, for a later update."""
        op = self.history.invoke(self.process, Kind.GET, key)
        try:
            got = await self.api.get("configmaps", self.namespace, key)
        except NotFound:
            self.history.complete(op, Outcome.NOT_FOUND)
            return None
        except ApiError:
            self.history.complete(op, Outcome.UNKNOWN)
            return None
        assert isinstance(got, core_pb2.ConfigMap)
        self.history.complete(op, Outcome.OK, _value(got))
        return _value(got), got.metadata.resource_version

    async def update(self, key: str, expect: str, version: str, value: str) -> None:
        """Compare-and-set: write `value` if the key still holds `expect` (at `version`)."""
        op = self.history.invoke(self.process, Kind.UPDATE, key, value=value, expect=expect)
        try:
            updated = await self.api.update(self._configmap(key, value, version))
        except Conflict:
            self.history.complete(op, Outcome.CONFLICT)
        except NotFound:
            self.history.complete(op, Outcome.NOT_FOUND)
        except ApiError:
            self.history.complete(op, Outcome.UNKNOWN)
        else:
            op.version = int(updated.metadata.resource_version)
            self.history.complete(op, Outcome.OK)

    async def delete(self, key: str) -> None:
        op = self.history.invoke(self.process, Kind.DELETE, key)
        try:
            deleted = await self.api.delete("configmaps", self.namespace, key)
        except NotFound:
            self.history.complete(op, Outcome.NOT_FOUND)
        except ApiError:
            self.history.complete(op, Outcome.UNKNOWN)
        else:
            assert isinstance(deleted, core_pb2.ConfigMap)
            self.history.complete(op, Outcome.OK, _value(deleted))

    async def list(self) -> None:
        op = self.history.invoke(self.process, Kind.LIST, "*")
        try:
            listed = await self.api.list("configmaps", self.namespace)
        except ApiError:
            self.history.complete(op, Outcome.UNKNOWN)
            return
        found: dict[str, str | None] = dict.fromkeys(self.keys)
        for item in listed.items:
            assert isinstance(item, core_pb2.ConfigMap)
            if item.metadata.name in found:
                found[item.metadata.name] = _value(item)
        op.observed = found
        self.history.complete(op, Outcome.OK)
