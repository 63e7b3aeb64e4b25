"""Container metrics in cAdvisor's names and labels, served at the kubelet's /metrics/cadvisor.

Dashboards and alerts written for Kubernetes read `container_cpu_usage_seconds_total`,
`container_memory_working_set_bytes`, `container_network_*_bytes_total` and
`container_fs_usage_bytes` with `namespace`, `pod` and `container` labels: these are those
series. As in cAdvisor, a pod's sandbox shows as container "POD" and carries the pod's
network counters (its containers share the sandbox's network namespace). Each series
also names its `node`, since one process may serve several simulated nodes.

The figures are the collector's latest sample, so a scrape reads memory, not the kernel.
They carry no timestamps: Prometheus then marks a deleted pod's series stale at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from kubelet.runtime.interface import SANDBOX_NAME, ContainerInfo, ContainerStats
from kubelet.stats.collector import StatsCollector

_LABELS = ["namespace", "pod", "container", "image", "name", "node"]
_NET_LABELS = [*_LABELS, "interface"]


class CadvisorCollector(Collector):
    """Turns each node's latest sample into cAdvisor-named metric families."""

    def __init__(self, collectors: Sequence[StatsCollector]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        cpu = CounterMetricFamily(
            "container_cpu_usage_seconds_total",
            "Cumulative cpu time consumed in seconds.",
            labels=_LABELS,
        )
        working = GaugeMetricFamily(
            "container_memory_working_set_bytes",
            "Current working set in bytes.",
            labels=_LABELS,
        )
        usage = GaugeMetricFamily(
            "container_memory_usage_bytes",
            "Current memory usage in bytes, including all memory regardless of when it was "
            "accessed.",
            labels=_LABELS,
        )
        rss = GaugeMetricFamily(
            "container_memory_rss", "Size of RSS in bytes.", labels=_LABELS
        )
        fs = GaugeMetricFamily(
            "container_fs_usage_bytes",
            "Number of bytes that are consumed by the container on this filesystem.",
            labels=[*_LABELS, "device"],
        )
        rx = CounterMetricFamily(
            "container_network_receive_bytes_total",
            "Cumulative count of bytes received.",
            labels=_NET_LABELS,
        )
        rx_packets = CounterMetricFamily(
            "container_network_receive_packets_total",
            "Cumulative count of packets received.",
            labels=_NET_LABELS,
        )
        tx = CounterMetricFamily(
            "container_network_transmit_bytes_total",
            "Cumulative count of bytes transmitted.",
            labels=_NET_LABELS,
        )
        tx_packets = CounterMetricFamily(
            "container_network_transmit_packets_total",
            "Cumulative count of packets transmitted.",
            labels=_NET_LABELS,
        )
        machine_cpu = GaugeMetricFamily(
            "machine_cpu_cores", "Number of logical CPU cores.", labels=["node"]
        )
        for collector in self.collectors:
            sample = collector.latest
            if collector.cpu_cores:
                machine_cpu.add_metric([collector.node], collector.cpu_cores)
            if sample is None:
                continue
            for info, stats in sample.containers.values():
                labels = _labels(info, collector.node)
                cpu.add_metric(labels, stats.cpu_seconds)
                working.add_metric(labels, stats.memory_working_set_bytes)
                usage.add_metric(labels, stats.memory_usage_bytes)
                rss.add_metric(labels, stats.memory_rss_bytes)
                if stats.fs_usage_bytes is not None:
                    fs.add_metric([*labels, "/"], stats.fs_usage_bytes)
                if info.kind == "sandbox":
                    _network(stats, [*labels, "eth0"], rx, rx_packets, tx, tx_packets)
        yield from (cpu, working, usage, rss, fs, rx, rx_packets, tx, tx_packets, machine_cpu)


def _labels(info: ContainerInfo, node: str) -> list[str]:
    container = SANDBOX_NAME if info.kind == "sandbox" else info.name
    return [info.pod.namespace, info.pod.name, container, info.image, info.id, node]


def _network(
    stats: ContainerStats,
    labels: list[str],
    rx: CounterMetricFamily,
    rx_packets: CounterMetricFamily,
    tx: CounterMetricFamily,
    tx_packets: CounterMetricFamily,
) -> None:
    rx.add_metric(labels, stats.rx_bytes)
    rx_packets.add_metric(labels, stats.rx_packets)
    tx.add_metric(labels, stats.tx_bytes)
    tx_packets.add_metric(labels, stats.tx_packets)


def cadvisor_registry(collectors: Sequence[StatsCollector]) -> CollectorRegistry:
    """A registry of its own, so /metrics/cadvisor serves only the container series."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CadvisorCollector(collectors))
    return registry
