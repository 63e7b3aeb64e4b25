"""kopf, unchanged, runs an operator against a Tugboat API server and keeps working when that
API server is killed -9 and started again: its watch reconnects and it handles what came
while it was away."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.integration.apiserver.kubectl import write_kubeconfig
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import EtcdCluster
from tests.support.waiting import wait_until

OPERATOR = Path(__file__).resolve().parent / "operators" / "copier.py"


@pytest.fixture
def apiserver_process(etcd_clean: EtcdCluster) -> Iterator[ApiServerProcess]:
    proc = ApiServerProcess.start(etcd_clean.endpoints, name="kopf-apiserver")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def operator(apiserver_process: ApiServerProcess, tmp_path: Path) -> Iterator[Path]:
    server = f"http://127.0.0.1:{apiserver_process.http_port}"
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server)
    log = tmp_path / "kopf.log"
    kopf = shutil.which("kopf", path=str(Path(sys.executable).parent))
    assert kopf, "kopf is installed with the dev dependencies"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [kopf, "run", "--standalone", "--namespace", "default", str(OPERATOR)],
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield kubeconfig
    finally:
        proc.kill()
        proc.wait(timeout=10)
        print(log.read_text(errors="replace")[-4000:])


def _core(kubeconfig: Path) -> client.CoreV1Api:
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    return client.CoreV1Api(client.ApiClient(client.Configuration(host=server)))


def _source(name: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels={"role": "source"}), data={"k": name}
    )


def _copied(core: client.CoreV1Api, name: str) -> bool:
    try:
        found = core.read_namespaced_config_map(f"{name}-copy", "default")
    except (client.ApiException, OSError):
        return False
    return bool(found.data == {"k": name})


def test_a_kopf_operator_reacts_to_a_configmap_and_survives_an_api_server_kill(
    operator: Path, apiserver_process: ApiServerProcess
):
    core = _core(operator)
    core.create_namespaced_config_map("default", _source("first"))
    wait_until(lambda: _copied(core, "first"), timeout=60, interval=0.2, what="first-copy")

    apiserver_process.kill()
    killed = time.monotonic()
    apiserver_process.launch()
    apiserver_process.wait_ready()
    core.create_namespaced_config_map("default", _source("second"))
    wait_until(lambda: _copied(core, "second"), timeout=90, interval=0.2, what="second-copy")
    print(f"\nkopf handled a create {time.monotonic() - killed:.1f} s after the API server died")
