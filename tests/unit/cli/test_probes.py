"""The readiness probe's HTTP GET reads a whole status page, however it is segmented."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from cli.cluster.probes import http_get
from client.statusserver import StatusServer


async def test_http_get_returns_the_whole_body_of_a_large_metrics_page():
    registry = CollectorRegistry()
    gauge = Gauge("tugboat_test_series", "Many series.", ["n"], registry=registry)
    for n in range(3000):
        gauge.labels(str(n)).set(n)
    server = StatusServer("127.0.0.1", 0, registry=registry)
    await server.start()
    try:
        status, body = await http_get("127.0.0.1", server.port, "/metrics", timeout=5)
    finally:
        await server.stop()
    assert status == 200
    assert len(body) > 65536
    assert body.rstrip().endswith(b'tugboat_test_series{n="2999"} 2999.0')
