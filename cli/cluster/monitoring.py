"""`tug up --monitoring`: Prometheus (and Grafana, where installed) beside a local cluster.

Both run as the cluster's other processes do: detached, recorded in its state file (so
`tug down` stops them by PID), logging under its logs/ folder, with their data under the
cluster's folder. Prometheus is Debian's binary with deploy/monitoring's configuration,
its discovery URLs pointed at this cluster's API servers; rule files dropped into the
cluster's `monitoring/rules.d/` are read too (Prometheus reloads on POST /-/reload).
Grafana starts only where a `grafana-server` binary is on PATH (Debian has no package);
otherwise `tug up` says how to add it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from cli.cluster import credentials
from cli.cluster.components import Component
from cli.cluster.layout import HOST, Layout
from cli.cluster.probes import http_get
from cli.errors import CliError

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
"""deploy/monitoring of this checkout."""
GRAFANA_HOME = Path("/usr/share/grafana")


def prometheus_port(layout: Layout) -> int:
    """Prometheus' web port: the first of the monitoring block (base+60)."""
    return layout.port(6, 0)


def grafana_port(layout: Layout) -> int:
    """Grafana's web port (base+61)."""
    return layout.port(6, 1)


def folder(layout: Layout) -> Path:
    """The cluster's monitoring folder: generated configuration and extra rule files."""
    return layout.root / "monitoring"


def prometheus_config(layout: Layout, deploy: Path = DEPLOY) -> dict[str, Any]:
    """deploy/monitoring/prometheus.yml, discovering this cluster, with absolute rule paths."""
    source = deploy / "prometheus.yml"
    if not source.is_file():
        raise CliError(f"{source} not found: --monitoring needs a Tugboat checkout's deploy/")
    config: dict[str, Any] = yaml.safe_load(source.read_text())
    config["rule_files"] = [
        str(deploy / p) for p in config.get("rule_files", [])
    ] + [str(folder(layout) / "rules.d" / "*.yml")]
    # A secure cluster's API servers and etcd serve HTTPS with the cluster CA's
    # certificates: the discovery URL and their /metrics (whose targets say __scheme__
    # https) verify them, and etcd, which demands one, gets Prometheus' own certificate.
    scheme = "https" if layout.secure else "http"
    tls: dict[str, Any] = {}
    if layout.secure:
        cert, key = credentials.certificate_files(layout, credentials.PROMETHEUS)
        tls["tls_config"] = {
            "ca_file": str(credentials.ca_file(layout)),
            "cert_file": str(cert),
            "key_file": str(key),
        }
    sd = [
        {"url": f"{scheme}://{HOST}:{layout.apiserver_http_port(i)}/discovery/prometheus",
         "refresh_interval": "5s", **tls}
        for i in range(layout.masters)
    ]  # fmt: skip
    for job in config["scrape_configs"]:
        if "http_sd_configs" in job:
            job["http_sd_configs"] = sd
            job.update(tls)
    return config


def prometheus(layout: Layout) -> Component:
    """Debian's prometheus with the generated configuration, data under the cluster."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise CliError(
            "--monitoring: prometheus not found on PATH: install Debian's prometheus "
            "(`make setup` does)"
        )
    where = folder(layout)
    (where / "rules.d").mkdir(parents=True, exist_ok=True)
    config = where / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(layout), sort_keys=False))
    port = prometheus_port(layout)

    async def ready() -> bool:
        status, _ = await http_get(HOST, port, "/-/ready")
        return status == 200

    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={layout.root / 'prometheus'}",
        f"--web.listen-address={HOST}:{port}",
        "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=2d",
    ]
    return Component("prometheus", argv, [port], ready)


def grafana(layout: Layout) -> Component | None:
    """grafana-server with deploy/monitoring's provisioning, or None when not installed."""
    binary = shutil.which("grafana-server") or shutil.which("grafana")
    if binary is None:
        return None
    port = grafana_port(layout)

    async def ready() -> bool:
        status, _ = await http_get(HOST, port, "/api/health")
        return status == 200

    env = {
        "GF_SERVER_HTTP_ADDR": HOST,
        "GF_SERVER_HTTP_PORT": str(port),
        "GF_PATHS_DATA": str(layout.root / "grafana"),
        "GF_PATHS_LOGS": str(layout.logs),
        "GF_PATHS_PROVISIONING": str(DEPLOY / "grafana" / "provisioning"),
        "PROMETHEUS_URL": f"http://{HOST}:{prometheus_port(layout)}",
        "TUGBOAT_DASHBOARDS": str(DEPLOY / "grafana" / "dashboards"),
    }
    command = [binary] if binary.endswith("grafana-server") else [binary, "server"]
    argv = ["env", *(f"{k}={v}" for k, v in env.items()), *command]
    if GRAFANA_HOME.is_dir():
        argv.append(f"--homepath={GRAFANA_HOME}")
    return Component("grafana", argv, [port], ready)


def components(layout: Layout) -> list[Component]:
    """Prometheus, and Grafana where it is installed."""
    found = [prometheus(layout)]
    g = grafana(layout)
    if g is not None:
        found.append(g)
    return found


def summary(layout: Layout, started: list[Component]) -> list[str]:
    """The lines `tug up` prints about monitoring."""
    lines = [f"Prometheus: http://{HOST}:{prometheus_port(layout)}/ (alerts at /alerts)"]
    if any(c.name == "grafana" for c in started):
        lines.append(f"Grafana: http://{HOST}:{grafana_port(layout)}/ (admin/admin)")
    else:
        lines.append(
            "Grafana: grafana-server is not on PATH (Debian has no package). Install Grafana "
            "from its Debian repository and run `tug up --monitoring` again, or run "
            f"`docker compose -f {DEPLOY / 'compose.yaml'} up -d grafana` on a machine "
            f"that can pull images (set PROMETHEUS_URL=http://{HOST}:"
            f"{prometheus_port(layout)} in it)."
        )
    return lines
