"""`tug exec` against a real API server: refusals say what is wrong, every time, and the
flags between the pod and `--` are flags, not the command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from cli.cluster.pki import CertificateAuthority, write_private, write_public
from client.api import ApiClient
from proto import core_pb2, meta_pb2
from tests.integration.cli.tugrun import run_tug
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import EtcdCluster


async def test_exec_into_a_missing_pod_says_so_every_time(
    etcd_clean: EtcdCluster, tug_home: Path, tmp_path: Path
) -> None:
    # A second request message racing the refusal made gRPC answer "Internal error from
    # Core" about one time in four over TLS; the reason must come through on every try.
    ca = CertificateAuthority.create("test-cluster-ca")
    served = ca.issue("kube-apiserver", server=True, hosts=["127.0.0.1"])
    admin = ca.issue("admin", organizations=("system:masters",), client=True)
    files = {"ca.crt": ca.cert_pem, "apiserver.crt": served.cert, "admin.crt": admin.cert}
    for name, data in files.items():
        write_public(tmp_path / name, data)
    write_private(tmp_path / "apiserver.key", served.key)
    write_private(tmp_path / "admin.key", admin.key)
    server = ApiServerProcess.start(
        etcd_clean.endpoints,
        extra_args=[
            "--authorization-mode", "Node,RBAC",
            "--tls-cert-file", str(tmp_path / "apiserver.crt"),
            "--tls-private-key-file", str(tmp_path / "apiserver.key"),
            "--client-ca-file", str(tmp_path / "ca.crt"),
        ],
    )  # fmt: skip
    try:
        config = {
            "clusters": [{"name": "t", "cluster": {
                "servers": [server.endpoint],
                "certificate-authority": str(tmp_path / "ca.crt")}}],
            "users": [{"name": "admin", "user": {
                "client-certificate": str(tmp_path / "admin.crt"),
                "client-key": str(tmp_path / "admin.key")}}],
            "contexts": [{"name": "t", "context": {"cluster": "t", "user": "admin"}}],
            "current-context": "t",
        }  # fmt: skip
        (tug_home / "config").parent.mkdir(parents=True, exist_ok=True)
        (tug_home / "config").write_text(yaml.safe_dump(config))
        answers: Counter[tuple[int, str]] = Counter()
        # A process per try, as a user runs it: in-process runs never lost the race.
        tug = [sys.executable, "-m", "cli.main", "exec", "nosuchpod", "--", "true"]
        env = {**os.environ, "TUG_HOME": str(tug_home), "TUGCONFIG": str(tug_home / "config")}
        for _ in range(40):
            done = await asyncio.to_thread(
                subprocess.run, tug, env=env, capture_output=True, text=True, timeout=60
            )
            answers[(done.returncode, done.stderr.strip())] += 1
    finally:
        server.stop()
    assert answers == {(1, 'error: pods "nosuchpod" not found'): 40}


async def test_flags_after_the_pod_are_read_as_flags(apiserver: Any, tug_home: Any) -> None:
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(core_pb2.Namespace(metadata=meta_pb2.ObjectMeta(name="other")))
        pod = core_pb2.Pod(metadata=meta_pb2.ObjectMeta(name="web", namespace="other"))
        pod.spec.containers.add(name="app", image="busybox")
        await api.create(pod)
    server = ("--server", apiserver.endpoint)
    done = await run_tug(*server, "exec", "web", "-n", "other", "-c", "app", "--", "ls", "-l")
    assert done.err.strip() == 'error: pod "web" is not scheduled to a node yet'
    unknown = await run_tug(*server, "exec", "web", "-x", "--", "ls")
    assert unknown.code != 0 and "unknown flag '-x' before --" in unknown.err
