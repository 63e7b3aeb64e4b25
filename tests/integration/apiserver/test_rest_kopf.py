"""kopf, unchanged, runs an operator against a Tugboat API server and keeps working when that
API server is killed -9 and started again: its watch reconnects and it handles what came
while it was away. Its admission webhooks, which kopf serves and registers itself, guard
and change writes."""

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

from cli.cluster.pki import CertificateAuthority
from tests.integration.apiserver.kubectl import write_kubeconfig
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import EtcdCluster
from tests.support.ports import free_port
from tests.support.waiting import wait_until

OPERATORS = Path(__file__).resolve().parent / "operators"
OPERATOR = OPERATORS / "copier.py"


@pytest.fixture
def apiserver_process(etcd_clean: EtcdCluster) -> Iterator[ApiServerProcess]:
    proc = ApiServerProcess.start(etcd_clean.endpoints, name="kopf-apiserver")
    try:
        yield proc
    finally:
        proc.stop()


def _run_kopf(
    apiserver_process: ApiServerProcess, tmp_path: Path, operator: Path, env: dict[str, str]
) -> Iterator[Path]:
    server = f"http://127.0.0.1:{apiserver_process.http_port}"
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server)
    log = tmp_path / "kopf.log"
    kopf = shutil.which("kopf", path=str(Path(sys.executable).parent))
    assert kopf, "kopf is installed with the dev dependencies"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [kopf, "run", "--standalone", "--namespace", "default", str(operator)],
            env={**os.environ, "KUBECONFIG": str(kubeconfig), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield kubeconfig
    finally:
        proc.kill()
        proc.wait(timeout=10)
        print(log.read_text(errors="replace")[-4000:])


@pytest.fixture
def operator(apiserver_process: ApiServerProcess, tmp_path: Path) -> Iterator[Path]:
    yield from _run_kopf(apiserver_process, tmp_path, OPERATOR, {})


@pytest.fixture
def gatekeeper(apiserver_process: ApiServerProcess, tmp_path: Path) -> Iterator[Path]:
    ca = CertificateAuthority.create("kopf-webhook-ca")
    pair = ca.issue("kopf-webhook", server=True, hosts=["127.0.0.1"])
    files = {"WEBHOOK_CA": ca.cert_pem, "WEBHOOK_CERT": pair.cert, "WEBHOOK_KEY": pair.key}
    env = {"WEBHOOK_PORT": str(free_port())}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        env[name] = str(tmp_path / name)
    yield from _run_kopf(apiserver_process, tmp_path, OPERATORS / "gatekeeper.py", env)


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


def _registered(admission: client.AdmissionregistrationV1Api) -> bool:
    """Whether kopf has written both of its webhook configurations, with webhooks."""
    try:
        mutating = admission.read_mutating_webhook_configuration("auto.kopf.dev")
        validating = admission.read_validating_webhook_configuration("auto.kopf.dev")
    except (client.ApiException, OSError):
        return False
    return bool(mutating.webhooks) and bool(validating.webhooks)


def test_kopf_serves_and_registers_admission_webhooks_that_refuse_and_change_writes(
    gatekeeper: Path,
) -> None:
    core = _core(gatekeeper)
    admission = client.AdmissionregistrationV1Api(core.api_client)
    wait_until(lambda: _registered(admission), timeout=60, interval=0.2, what="kopf's webhooks")
    made = core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="ok"), data={"k": "v"})
    )
    assert made.metadata is not None and made.metadata.labels == {"stamped-by": "kopf"}
    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_config_map(
            "default",
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name="bad"), data={"forbidden": "x"}),
        )
    assert refused.value.status == 403
    assert "the key 'forbidden' is not allowed" in str(refused.value.body)
