"""Starting detached processes and stopping them by the PID recorded for them.

A recorded PID is only ever signalled while /proc shows the same process: the start
time read at launch must still match, so a PID the kernel has since given to another
program is never killed. Processes run in their own session, so a Ctrl-C in the
terminal that ran `tug up` does not reach them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("tug.cluster")

TERM_GRACE = 10.0
"""Seconds between SIGTERM and SIGKILL."""
KILL_GRACE = 5.0


@dataclass
class Record:
    """A process `tug up` started: enough to find it again and only it."""

    name: str
    pid: int
    start_time: int
    argv: list[str]
    log: str
    ports: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The state file's shape."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """A record from the state file."""
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            start_time=int(data["start_time"]),
            argv=[str(a) for a in data.get("argv", [])],
            log=str(data.get("log", "")),
            ports=[int(p) for p in data.get("ports", [])],
        )


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) from /proc/PID/stat; None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: fields start after the last ")".
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def start_time(pid: int) -> int:
    """The kernel's start time of a live process (0 when it is already gone)."""
    found = _stat(pid)
    return found[1] if found else 0


def _reap(pid: int) -> None:
    # When this process started it (tests run `tug up` in-process) it must also reap it.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(record: Record) -> bool:
    """Whether the recorded process still runs (a zombie counts as gone)."""
    _reap(record.pid)
    found = _stat(record.pid)
    return found is not None and found[0] != "Z" and found[1] == record.start_time


def spawn(name: str, argv: list[str], log_path: Path, cwd: Path, ports: list[int]) -> Record:
    """Start a detached process with its output in `log_path`; blocking (use a thread)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    # Keep Popen from warning that it still runs: ownership moves to the state file.
    proc.returncode = 0
    record = Record(name, proc.pid, start_time(proc.pid), argv, str(log_path), ports)
    log.info("started", key=name, pid=proc.pid, log=str(log_path))
    return record


async def _wait_gone(record: Record, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while alive(record):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
    return True


def _signal(record: Record, sig: signal.Signals) -> None:
    if alive(record):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, sig)


async def stop(record: Record, *, grace: float = TERM_GRACE) -> bool:
    """SIGTERM, wait up to `grace`, then SIGKILL; True once the process is gone."""
    if not alive(record):
        return True
    _signal(record, signal.SIGTERM)
    if await _wait_gone(record, grace):
        log.info("stopped", key=record.name, pid=record.pid)
        return True
    log.warning("did not stop in time, killing", key=record.name, pid=record.pid)
    _signal(record, signal.SIGKILL)
    return await _wait_gone(record, KILL_GRACE)


def tier(record: Record) -> str:
    """ "etcd", "apiserver", "kubelet"...: the process's name without its index."""
    head, _, index = record.name.rpartition("-")
    return head if index.isdigit() else record.name


async def stop_all(records: list[Record], *, grace: float = TERM_GRACE) -> list[Record]:
    """Stop processes in reverse start order, one tier at a time; the ones left running.

    Reverse order stops clients (API servers) before what they depend on (etcd), so
    they do not spend their last seconds retrying a vanished etcd. The processes of one
    tier (every proxy, then every kubelet, ...) stop together: one by one, a stop that
    takes two seconds each kept the kubelets running long enough, with etcd already
    gone, to fence their pods before a snapshot restore could stop them.
    """
    survivors = []
    ordered = list(reversed(records))
    start = 0
    while start < len(ordered):
        end = start + 1
        while end < len(ordered) and tier(ordered[end]) == tier(ordered[start]):
            end += 1
        group = ordered[start:end]
        stopped = await asyncio.gather(*(stop(r, grace=grace) for r in group))
        survivors += [r for r, ok in zip(group, stopped, strict=True) if not ok]
        start = end
    return survivors


def log_tail(record: Record, lines: int = 15) -> str:
    """The end of a process's log, to explain why it failed."""
    try:
        text = Path(record.log).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
