"""Stats collection: CPU rates between two samples, the metrics API message, cAdvisor names."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import generate_latest

from kubelet.agent import usage_message
from kubelet.pods.pleg import ContainerCache
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerConfig, ContainerInfo, ContainerStats, PodRef
from kubelet.stats.cadvisor import cadvisor_registry
from kubelet.stats.collector import StatsCollector


class ScriptedRuntime(FakeRuntime):
    """A fake node whose containers' CPU counters the test sets."""

    def __init__(self) -> None:
        super().__init__("n1")
        self.cpu: dict[str, float] = {}
        self.node_cpu = 0.0

    async def stats(self, containers: Sequence[ContainerInfo]) -> dict[str, ContainerStats]:
        return {
            c.id: ContainerStats(
                self.cpu.get(c.name, 0.0), 64 << 20, 48 << 20, 32 << 20, rx_bytes=1000,
                tx_bytes=2000, fs_usage_bytes=4096,
            )
            for c in containers
            if c.running
        }

    async def node_stats(self) -> ContainerStats:
        return ContainerStats(self.node_cpu, 2 << 30, 1 << 30)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


async def node_with_a_pod(clock: Clock | None = None) -> tuple[ScriptedRuntime, StatsCollector]:
    runtime = ScriptedRuntime()
    pod = PodRef("uid-1", "web-1", "shop")
    sandbox = await runtime.ensure_sandbox(pod, "web-1", 0)
    await runtime.start_container(pod, sandbox, ContainerConfig(name="busy", image="busybox"))
    await runtime.start_container(pod, sandbox, ContainerConfig(name="idle", image="busybox"))
    cache = ContainerCache(runtime, lambda uid: None)
    await cache.relist()
    return runtime, StatsCollector(runtime, cache, "n1", period=5.0, clock=clock or Clock())


async def test_usage_is_the_cpu_rate_between_the_last_two_samples():
    clock = Clock()
    runtime, collector = await node_with_a_pod(clock)
    runtime.cpu, runtime.node_cpu = {"busy": 10.0, "idle": 3.0}, 50.0
    await collector.collect()
    assert collector.usage() is None, "one sample gives no rate"
    clock.now += 4.0
    runtime.cpu, runtime.node_cpu = {"busy": 14.0, "idle": 3.008}, 56.0
    await collector.collect()
    usage = collector.usage()
    assert usage is not None
    by_name = {c.container: c.usage for c in usage.containers}
    assert set(by_name) == {"busy", "idle"}, "the sandbox is not a container of top"
    assert by_name["busy"].cpu_nano_cores == 1_000_000_000
    assert by_name["idle"].cpu_nano_cores == 2_000_000
    assert by_name["busy"].memory_working_set_bytes == 48 << 20
    assert usage.usage.cpu_nano_cores == 1_500_000_000
    assert usage.window == 4.0


async def test_a_container_seen_in_one_sample_only_has_no_rate_yet():
    clock = Clock()
    runtime, collector = await node_with_a_pod(clock)
    await collector.collect()
    pod = PodRef("uid-2", "late", "shop")
    sandbox = await runtime.ensure_sandbox(pod, "late", 0)
    await runtime.start_container(pod, sandbox, ContainerConfig(name="new", image="busybox"))
    await collector.cache.relist()
    clock.now += 5
    await collector.collect()
    usage = collector.usage()
    assert usage is not None
    assert "new" not in {c.container for c in usage.containers}


async def test_the_metrics_api_message_groups_containers_by_pod():
    clock = Clock()
    _, collector = await node_with_a_pod(clock)
    await collector.collect()
    clock.now += 5
    await collector.collect()
    usage = collector.usage()
    assert usage is not None
    message = usage_message(usage)
    assert message.node == "n1"
    assert [(p.namespace, p.name) for p in message.pods] == [("shop", "web-1")]
    assert [c.name for c in message.pods[0].containers] == ["busy", "idle"]
    assert message.usage.memory_working_set_bytes == 1 << 30
    assert message.timestamp.endswith("Z") and message.window_seconds > 0


async def test_cadvisor_series_carry_kubernetes_names_and_labels():
    _, collector = await node_with_a_pod()
    collector.cpu_cores = 2.0
    await collector.collect()
    text = generate_latest(cadvisor_registry([collector])).decode()
    for name in (
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "container_network_receive_bytes_total",
        "container_network_transmit_bytes_total",
        "container_fs_usage_bytes",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert 'container="busy"' in text and 'namespace="shop"' in text and 'pod="web-1"' in text
    assert 'node="n1"' in text
    network = [line for line in text.splitlines() if line.startswith("container_network_receive_b")]
    assert len(network) == 1 and 'container="POD"' in network[0], "network once, on the sandbox"
    assert 'machine_cpu_cores{node="n1"} 2.0' in text


async def test_a_node_without_a_sample_serves_no_container_series():
    _, collector = await node_with_a_pod()
    text = generate_latest(cadvisor_registry([collector])).decode()
    assert "container_cpu_usage_seconds_total{" not in text
