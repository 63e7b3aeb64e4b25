"""Container usage read straight from the kernel: cgroup files and /proc/<pid>/net/dev.

cAdvisor reads the same files. Asking the engine (`docker stats`) costs an HTTP round
trip and a JSON document per container; a few small file reads cost tens of
microseconds, which keeps collection well under a tenth of the kubelet's own CPU. A
container's cgroup is found from its main process (`/proc/<pid>/cgroup`), so the engine's
cgroup driver (cgroupfs `/docker/<id>` or systemd `docker-<id>.scope`) does not matter.
Both cgroup v1 (per-controller hierarchies) and v2 (one unified tree) are read.

Every function here blocks (file I/O): call them from a worker thread. They return None
when the files are not there (the process ended, or its cgroups are not visible from
here, as from inside a node container with a private cgroup namespace); the caller then
asks the engine instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelet.runtime.interface import ContainerStats

PROC = Path("/proc")
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CgroupPaths:
    """Where one process's cgroups are: per v1 controller, or the v2 unified path."""

    v1: dict[str, str]
    """Controller ("cpuacct", "memory") → path below that controller's hierarchy."""
    v2: str | None
    """The unified hierarchy's path, when the process has one."""


def process_cgroups(pid: int, proc: Path = PROC) -> CgroupPaths | None:
    """Parse /proc/<pid>/cgroup; None when the process is not visible."""
    try:
        text = (proc / str(pid) / "cgroup").read_text()
    except OSError:
        return None
    v1: dict[str, str] = {}
    v2: str | None = None
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        if not controllers:
            v2 = path
            continue
        for controller in controllers.split(","):
            # A co-mounted hierarchy ("cpu,cpuacct") is mounted under its joined name.
            v1[controller] = f"{controllers}:{path}"
    return CgroupPaths(v1, v2)


def _v1_dir(paths: CgroupPaths, controller: str, root: Path) -> Path | None:
    entry = paths.v1.get(controller)
    if entry is None:
        return None
    mount, path = entry.split(":", 1)
    for candidate in (root / mount, root / controller):
        d = candidate / path.lstrip("/")
        if d.is_dir():
            return d
    return None


@dataclass(frozen=True)
class CgroupFiles:
    """The files one cgroup's usage is read from, resolved once per container: a
    collection round then costs three small reads per container and nothing else."""

    cpu: str
    """cpuacct.usage (v1, nanoseconds) or cpu.stat (v2, usage_usec)."""
    memory: str
    """memory.usage_in_bytes (v1) or memory.current (v2)."""
    memory_stat: str
    v2: bool


def cgroup_files(paths: CgroupPaths, root: Path = CGROUP_ROOT) -> CgroupFiles | None:
    """Where the cgroup's usage is; None when its files cannot be seen from here."""
    cpu_dir = _v1_dir(paths, "cpuacct", root)
    mem_dir = _v1_dir(paths, "memory", root)
    if cpu_dir is not None and mem_dir is not None:
        return CgroupFiles(
            str(cpu_dir / "cpuacct.usage"),
            str(mem_dir / "memory.usage_in_bytes"),
            str(mem_dir / "memory.stat"),
            v2=False,
        )
    if paths.v2 is not None:
        unified = root / paths.v2.lstrip("/")
        if (unified / "memory.current").is_file():
            return CgroupFiles(
                str(unified / "cpu.stat"),
                str(unified / "memory.current"),
                str(unified / "memory.stat"),
                v2=True,
            )
    return None


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _stat_values(data: bytes) -> dict[bytes, int]:
    out: dict[bytes, int] = {}
    for line in data.split(b"\n"):
        key, _, value = line.partition(b" ")
        if value:
            try:
                out[key] = int(value)
            except ValueError:
                continue
    return out


def _stat_value(data: bytes, *keys: bytes) -> int:
    """The first of `keys` found in a "key value" file, else 0, found without parsing the
    whole file (memory.stat has some forty lines and two are wanted)."""
    text = b"\n" + data
    for key in keys:
        at = text.find(b"\n" + key + b" ")
        if at >= 0:
            start = at + len(key) + 2
            end = text.find(b"\n", start)
            return int(text[start : end if end >= 0 else None])
    return 0


def read_usage(files: CgroupFiles, **extra: Any) -> ContainerStats | None:
    """CPU and memory from resolved files, with `extra` fields (network, disk); None when
    the files are gone (the container ended)."""
    try:
        cpu_raw = _read(files.cpu)
        usage = int(_read(files.memory))
        stat = _read(files.memory_stat)
        if files.v2:
            cpu = _stat_value(cpu_raw, b"usage_usec") / 1e6
            inactive = _stat_value(stat, b"inactive_file")
            rss = _stat_value(stat, b"anon")
        else:
            cpu = int(cpu_raw) / 1e9
            inactive = _stat_value(stat, b"total_inactive_file", b"inactive_file")
            rss = _stat_value(stat, b"total_rss", b"rss")
    except (OSError, ValueError):
        return None
    return ContainerStats(cpu, usage, max(0, usage - inactive), rss, **extra)


def cgroup_usage(paths: CgroupPaths, root: Path = CGROUP_ROOT) -> ContainerStats | None:
    """CPU and memory of the cgroup; None when its files cannot be read from here."""
    files = cgroup_files(paths, root)
    return read_usage(files) if files is not None else None


def _stat_file(path: Path) -> dict[str, int]:
    return {k.decode(): v for k, v in _stat_values(path.read_bytes()).items()}


def root_usage(root: Path = CGROUP_ROOT, proc: Path = PROC) -> ContainerStats | None:
    """The whole node: the root cgroup as this process sees it (a node container's own)."""
    v1 = CgroupPaths({"cpuacct": "cpuacct:/", "memory": "memory:/"}, None)
    found = cgroup_usage(v1, root)
    if found is not None:
        return found
    # cgroup v2 keeps no memory.current at the root: the kernel's own figures instead.
    try:
        cpu = _stat_file(root / "cpu.stat")
        meminfo = {
            k: int(v.split()[0]) * 1024
            for k, _, v in (
                line.partition(":") for line in (proc / "meminfo").read_text().splitlines()
            )
            if v.strip()
        }
    except (OSError, ValueError):
        return None
    used = meminfo.get("MemTotal", 0) - meminfo.get("MemFree", 0)
    working = meminfo.get("MemTotal", 0) - meminfo.get("MemAvailable", 0)
    return ContainerStats(
        cpu_seconds=cpu.get("usage_usec", 0) / 1e6,
        memory_usage_bytes=used,
        memory_working_set_bytes=working,
    )


def network_usage(pid: int, proc: Path = PROC) -> tuple[int, int, int, int] | None:
    """(rx bytes, rx packets, tx bytes, tx packets) of the process's network namespace,
    loopback left out; None when the process is not visible."""
    try:
        lines = _read(str(proc / str(pid) / "net" / "dev")).split(b"\n")[2:]
    except OSError:
        return None
    rx_b = rx_p = tx_b = tx_p = 0
    for line in lines:
        name, _, counters = line.partition(b":")
        if name.strip() in (b"lo", b""):
            continue
        f = counters.split()
        if len(f) < 10:
            continue
        rx_b, rx_p = rx_b + int(f[0]), rx_p + int(f[1])
        tx_b, tx_p = tx_b + int(f[8]), tx_p + int(f[9])
    return rx_b, rx_p, tx_b, tx_p
