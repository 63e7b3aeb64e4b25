"""What authentication, authorization, the audit log and encryption at rest cost a create.

    .venv/bin/python -m bench.security [--objects 500] [--concurrency 16]

Two API server processes on one etcd, side by side in one run: one as `tug up --insecure`
starts it (plaintext, no credentials asked, AlwaysAllow), one as `tug up` does by default
(TLS, client certificates of a cluster CA, Node and RBAC, an audit log, Secrets under
AES-GCM). The same client creates the same Secrets through each, as a user bound to `edit`
in the namespace (so RBAC is walked, not short-cut as for system:masters), and the
creates/s and latencies are compared.
Goal: the secure rate ≥ 0.85 of the insecure one. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import tempfile
import time
from pathlib import Path

from cli.cluster.pki import CertificateAuthority, write_private, write_public
from client import errors
from client.api import ApiClient, ClientOptions
from client.codec import from_dict
from client.tls import ClientCredentials
from proto import core_pb2, rbac_pb2
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import start_etcd


class Pki:
    """A cluster CA, the API server's certificate, and the two users' certificates."""

    def __init__(self, work: Path) -> None:
        ca = CertificateAuthority.create("bench-ca")
        served = ca.issue("kube-apiserver", server=True, hosts=["127.0.0.1"])
        self.ca = work / "ca.crt"
        self.cert, self.key = work / "apiserver.crt", work / "apiserver.key"
        write_public(self.ca, ca.cert_pem)
        write_public(self.cert, served.cert)
        write_private(self.key, served.key)
        admin = ca.issue("admin", organizations=["system:masters"], client=True)
        user = ca.issue("bench-user", client=True)
        self.admin = ClientCredentials(ca.cert_pem, admin.cert, admin.key)
        self.user = ClientCredentials(ca.cert_pem, user.cert, user.key)

    def flags(self) -> list[str]:
        return [
            "--tls-cert-file", str(self.cert),
            "--tls-private-key-file", str(self.key),
            "--client-ca-file", str(self.ca),
        ]  # fmt: skip


def _secret(name: str, namespace: str) -> core_pb2.Secret:
    secret: core_pb2.Secret = from_dict(
        core_pb2.Secret,
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}},
    )
    secret.data["password"] = os.urandom(32)
    return secret


def _namespace(name: str) -> core_pb2.Namespace:
    ns: core_pb2.Namespace = from_dict(
        core_pb2.Namespace, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    return ns


async def _creates(api: ApiClient, namespace: str, objects: int, concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            began = time.perf_counter()
            await api.create(_secret(f"s-{i}", namespace))
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(one(i) for i in range(objects)))
    return latencies


async def _measure(
    server: ApiServerProcess,
    namespace: str,
    objects: int,
    concurrency: int,
    pki: Pki | None,
) -> dict[str, float]:
    admin_tls, user_tls = (pki.admin, pki.user) if pki is not None else (None, None)
    async with ApiClient([server.endpoint], ClientOptions(tls=admin_tls)) as admin:
        await admin.create(_namespace(namespace))
        binding: rbac_pb2.RoleBinding = from_dict(
            rbac_pb2.RoleBinding,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "bench-edit", "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": "edit"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                              "name": "bench-user"}],
            },
        )  # fmt: skip
        await admin.create(binding)
    async with ApiClient([server.endpoint], ClientOptions(tls=user_tls)) as api:
        # Until the binding has reached the secure server's policy feed (bounded).
        for _ in range(100):
            try:
                await api.list("secrets", namespace)
                break
            except errors.Forbidden:
                await asyncio.sleep(0.05)
        began = time.perf_counter()
        latencies = await _creates(api, namespace, objects, concurrency)
        wall = time.perf_counter() - began
    latencies.sort()
    return {
        "creates_per_s": objects / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
    }


async def run(objects: int, concurrency: int) -> dict[str, dict[str, float]]:
    work = Path(tempfile.mkdtemp(prefix="bench-security-"))
    pki = Pki(work)
    key = base64.b64encode(os.urandom(32)).decode()
    encryption = work / "encryption.yaml"
    encryption.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
        "resources:\n- resources: [secrets]\n  providers:\n"
        f"  - aesgcm: {{keys: [{{name: k, secret: {key}}}]}}\n"
    )
    etcd = start_etcd(1)
    servers: list[ApiServerProcess] = []
    try:
        plain = ApiServerProcess.start(etcd.endpoints, name="bench-insecure")
        servers.append(plain)
        secure = ApiServerProcess.start(
            etcd.endpoints,
            name="bench-secure",
            extra_args=[
                *pki.flags(),
                "--authorization-mode", "Node,RBAC",
                "--audit-log-path", str(work / "audit.jsonl"),
                "--encryption-provider-config", str(encryption),
            ],
        )  # fmt: skip
        servers.append(secure)
        # Each measured twice, alternating, so neither runs only on a cold or warm etcd.
        results: dict[str, list[dict[str, float]]] = {"insecure": [], "secure": []}
        for round_ in range(2):
            results["insecure"].append(
                await _measure(plain, f"plain-{round_}", objects, concurrency, None)
            )
            results["secure"].append(
                await _measure(secure, f"secure-{round_}", objects, concurrency, pki)
            )
        return {
            mode: {k: statistics.mean(r[k] for r in runs) for k in runs[0]}
            for mode, runs in results.items()
        }
    finally:
        for server in servers:
            server.stop()
        etcd.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    figures = asyncio.run(run(args.objects, args.concurrency))
    print(f"Secret creates: {args.objects} per round, 2 rounds, concurrency {args.concurrency}")
    print(f"{'mode':<10}{'creates/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for mode, f in figures.items():
        print(f"{mode:<10}{f['creates_per_s']:>12.1f}{f['p50_ms']:>10.2f}{f['p99_ms']:>10.2f}")
    ratio = figures["secure"]["creates_per_s"] / figures["insecure"]["creates_per_s"]
    print(f"ratio secure/insecure creates/s: {ratio:.2f}")


if __name__ == "__main__":
    main()
