"""`tug pki issue`: the credentials of a cluster on hosts tug does not start (VMs, hosts
joined by hand), one folder per host for `configure.sh --pki`, and the admin's context."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from client.tls import certificate_subject
from tests.integration.cli.tugrun import run_tug

MASTER_FILES = {
    "ca.crt", "signing-ca.crt", "signing-ca.key", "client-ca.crt", "service-account.key",
    "encryption.yaml", "apiserver.crt", "apiserver.key",
    "etcd.crt", "etcd.key", "etcd-client.crt", "etcd-client.key", "kubelet-client.crt",
    "kubelet-client.key", "scheduler.crt", "scheduler.key", "controller-manager.crt",
    "controller-manager.key",
}  # fmt: skip
WORKER_FILES = {"ca.crt", "node.crt", "node.key", "kubelet.crt", "kubelet.key", "proxy.crt",
                "proxy.key"}  # fmt: skip


async def test_each_host_gets_its_own_files_and_the_admin_a_context(
    tug_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pki"
    done = await run_tug(
        "pki", "issue", "--out", str(out), "--cluster", "vagrant",
        "--master", "master-0=192.168.56.11", "--worker", "worker-0=192.168.56.21",
        "--set-context",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert {p.name for p in (out / "master-0").iterdir()} == MASTER_FILES
    assert {p.name for p in (out / "worker-0").iterdir()} == WORKER_FILES
    node = certificate_subject((out / "worker-0" / "node.crt").read_bytes())
    assert node == ("system:node:worker-0", ("system:nodes",))
    for key in [*out.glob("*/*.key"), out / "master-0" / "encryption.yaml"]:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    config = yaml.safe_load((tug_home / "config").read_text())
    assert config["current-context"] == "vagrant"
    cluster = config["clusters"][0]["cluster"]
    assert cluster["servers"] == ["192.168.56.11:6443"]
    assert "certificate-authority-data" in cluster
    again = await run_tug(
        "pki", "issue", "--out", str(out), "--cluster", "vagrant", "--master", "m=10.0.0.1"
    )
    assert again.code != 0 and "already holds a cluster's credentials" in again.err


async def test_masters_sign_requests_with_a_ca_only_their_api_servers_trust(
    tug_home: Path, tmp_path: Path
) -> None:
    """The controller manager's signer is not the cluster CA (whose key no host gets):
    etcd and kubelets trust ca.crt alone, the API servers the bundle of both."""
    out = tmp_path / "pki"
    done = await run_tug(
        "pki", "issue", "--out", str(out), "--cluster", "c",
        "--master", "m0=10.0.0.1", "--master", "m1=10.0.0.2", "--worker", "w0=10.0.0.3",
    )  # fmt: skip
    assert done.code == 0, done.err
    m0, m1 = out / "m0", out / "m1"
    ca = x509.load_pem_x509_certificate((m0 / "ca.crt").read_bytes())
    signer = x509.load_pem_x509_certificate((m0 / "signing-ca.crt").read_bytes())
    assert signer.subject != ca.subject and signer.public_key() != ca.public_key()
    key = serialization.load_pem_private_key((m0 / "signing-ca.key").read_bytes(), None)
    assert key.public_key() == signer.public_key()
    assert x509.load_pem_x509_certificates((m0 / "client-ca.crt").read_bytes()) == [ca, signer]
    for name in ("signing-ca.crt", "signing-ca.key", "client-ca.crt"):
        assert (m0 / name).read_bytes() == (m1 / name).read_bytes(), f"one signer: {name}"
    assert not list(out.glob("**/ca.key")), "the cluster CA's key is written nowhere"
    assert (out / "w0" / "ca.crt").read_bytes() == (m0 / "ca.crt").read_bytes()
    etcd = x509.load_pem_x509_certificate((m0 / "etcd.crt").read_bytes())
    assert etcd.issuer == ca.subject


async def test_a_bad_host_is_refused_naming_the_flag(tug_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "pki"
    bad = await run_tug(
        "pki", "issue", "--out", str(out), "--cluster", "c", "--master", "m0=10.0.0.300"
    )
    assert bad.code != 0 and "--master: 'm0=10.0.0.300': '10.0.0.300' is not an IPv4" in bad.err
    none = await run_tug("pki", "issue", "--out", str(out), "--cluster", "c")
    assert none.code != 0 and "--master: at least one master is needed" in none.err
    assert not out.exists()
