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

from dataclasses import dataclass
from pathlib import Path

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


def _read_int(path: Path) -> int:
    return int(path.read_text().split()[0])


def _stat_file(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def cgroup_usage(paths: CgroupPaths, root: Path = CGROUP_ROOT) -> ContainerStats | None:
    """CPU and memory of the cgroup; None when its files cannot be read from here."""
    try:
        cpu_dir = _v1_dir(paths, "cpuacct", root)
        mem_dir = _v1_dir(paths, "memory", root)
        if cpu_dir is not None and mem_dir is not None:
            return _v1_usage(cpu_dir, mem_dir)
        if paths.v2 is not None:
            unified = root / paths.v2.lstrip("/")
            if (unified / "memory.current").is_file():
                return _v2_usage(unified)
    except (OSError, ValueError):
        return None
    return None


def _v1_usage(cpu_dir: Path, mem_dir: Path) -> ContainerStats:
    cpu_ns = _read_int(cpu_dir / "cpuacct.usage")
    usage = _read_int(mem_dir / "memory.usage_in_bytes")
    stat = _stat_file(mem_dir / "memory.stat")
    inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
    return ContainerStats(
        cpu_seconds=cpu_ns / 1e9,
        memory_usage_bytes=usage,
        memory_working_set_bytes=max(0, usage - inactive),
        memory_rss_bytes=stat.get("total_rss", stat.get("rss", 0)),
    )


def _v2_usage(unified: Path) -> ContainerStats:
    cpu = _stat_file(unified / "cpu.stat")
    usage = _read_int(unified / "memory.current")
    stat = _stat_file(unified / "memory.stat")
    return ContainerStats(
        cpu_seconds=cpu.get("usage_usec", 0) / 1e6,
        memory_usage_bytes=usage,
        memory_working_set_bytes=max(0, usage - stat.get("inactive_file", 0)),
        memory_rss_bytes=stat.get("anon", 0),
    )


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
        lines = (proc / str(pid) / "net" / "dev").read_text().splitlines()[2:]
    except OSError:
        return None
    rx_b = rx_p = tx_b = tx_p = 0
    for line in lines:
        name, _, counters = line.partition(":")
        if name.strip() == "lo":
            continue
        f = counters.split()
        if len(f) < 10:
            continue
        rx_b, rx_p = rx_b + int(f[0]), rx_p + int(f[1])
        tx_b, tx_p = tx_b + int(f[8]), tx_p + int(f[9])
    return rx_b, rx_p, tx_b, tx_p
