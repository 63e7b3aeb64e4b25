"""Container usage from cgroup v1 and v2 files and /proc/<pid>/net/dev, on fixture trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelet.runtime import cgroups

CONTAINER = "/docker/0123abcd"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    write(
        root / "42" / "cgroup",
        f"12:memory:{CONTAINER}\n3:cpu,cpuacct:{CONTAINER}\n1:name=systemd:{CONTAINER}\n0::/\n",
    )
    write(
        root / "42" / "net" / "dev",
        "Inter-|   Receive                            |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes packets ...\n"
        "    lo:  999  9 0 0 0 0 0 0   999  9 0 0 0 0 0 0\n"
        "  eth0: 1500 10 0 0 0 0 0 0   700  7 0 0 0 0 0 0\n",
    )
    return root


def test_a_v1_container_reads_cpu_and_memory_less_inactive_file(tmp_path, proc):
    root = tmp_path / "cgroup"
    write(root / "cpu,cpuacct" / CONTAINER.lstrip("/") / "cpuacct.usage", "2500000000\n")
    mem = root / "memory" / CONTAINER.lstrip("/")
    write(mem / "memory.usage_in_bytes", "10485760\n")
    write(mem / "memory.stat", "cache 5\nrss 4\ntotal_rss 3145728\ntotal_inactive_file 2097152\n")
    paths = cgroups.process_cgroups(42, proc)
    assert paths is not None
    found = cgroups.cgroup_usage(paths, root)
    assert found is not None
    assert found.cpu_seconds == 2.5
    assert found.memory_usage_bytes == 10 << 20
    assert found.memory_working_set_bytes == 8 << 20
    assert found.memory_rss_bytes == 3 << 20


def test_a_v2_container_reads_the_unified_tree(tmp_path):
    proc = tmp_path / "proc"
    write(proc / "7" / "cgroup", "0::/system.slice/docker-ab.scope\n")
    unified = tmp_path / "cgroup" / "system.slice" / "docker-ab.scope"
    write(unified / "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\n")
    write(unified / "memory.current", "4096000\n")
    write(unified / "memory.stat", "anon 1024000\ninactive_file 96000\n")
    paths = cgroups.process_cgroups(7, proc)
    assert paths is not None
    found = cgroups.cgroup_usage(paths, tmp_path / "cgroup")
    assert found is not None
    assert (found.cpu_seconds, found.memory_working_set_bytes, found.memory_rss_bytes) == (
        1.5,
        4000000,
        1024000,
    )


def test_invisible_processes_and_cgroups_read_as_none_so_the_engine_is_asked(tmp_path, proc):
    assert cgroups.process_cgroups(43, proc) is None
    paths = cgroups.process_cgroups(42, proc)
    assert paths is not None
    assert cgroups.cgroup_usage(paths, tmp_path / "nothing-mounted") is None
    assert cgroups.network_usage(43, proc) is None


def test_network_counters_sum_the_interfaces_but_loopback(proc):
    assert cgroups.network_usage(42, proc) == (1500, 10, 700, 7)


def test_the_node_reads_its_root_cgroup(tmp_path, proc):
    root = tmp_path / "cgroup"
    write(root / "cpuacct" / "cpuacct.usage", "9000000000\n")
    write(root / "memory" / "memory.usage_in_bytes", "3000\n")
    write(root / "memory" / "memory.stat", "total_inactive_file 1000\n")
    found = cgroups.root_usage(root, proc)
    assert found is not None
    assert (found.cpu_seconds, found.memory_working_set_bytes) == (9.0, 2000)


def test_the_node_falls_back_to_meminfo_on_cgroup_v2(tmp_path, proc):
    root = tmp_path / "cgroup"
    write(root / "cpu.stat", "usage_usec 3000000\n")
    write(proc / "meminfo", "MemTotal: 1000 kB\nMemFree: 400 kB\nMemAvailable: 600 kB\n")
    found = cgroups.root_usage(root, proc)
    assert found is not None
    assert (found.cpu_seconds, found.memory_working_set_bytes) == (3.0, 400 * 1024)


def test_this_machine_reads_its_own_root_cgroup():
    found = cgroups.root_usage()
    assert found is not None and found.cpu_seconds > 0 and found.memory_working_set_bytes > 0
