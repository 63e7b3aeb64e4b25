"""The credentials of a secure cluster on separate hosts (node containers, VMs): made on
the machine that runs `tug`, one folder per node, copied into the node at `PKI_DIR`,
where `configure.sh --pki` finds them (`tug up --driver docker` copies them; the Vagrant
VMs read theirs from the synced checkout, after `tug pki issue` made them).

Each node gets only what its own daemons use, under fixed names, as kubeadm lays out
/etc/kubernetes/pki: a master its API server's serving certificate (for its address and
loopback), its etcd member's (for clients and peers), the client certificates its API
server (towards etcd and kubelets), scheduler and controller manager show, and the
client signer: a CA of its own (`signing-ca.crt`/`.key`) with which the controller manager
signs approved CertificateSigningRequests, and `client-ca.crt`, the API server's
`--client-ca-file`, bundling both CAs. The cluster CA's key is written nowhere: etcd and
the kubelets trust the cluster CA alone and etcd has no auth of its own, so the CA that
signs what users ask for must not be theirs (kubeadm keeps etcd on a CA of its own for
the same reason). A worker gets its kubelet's client and serving certificates and its
proxy's. Every master shares one ServiceAccount signing key and one
EncryptionConfiguration (Secrets under AES-GCM). The admin's certificate stays on the
host, for tug's context and the kubeconfig.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cli.cluster.pki import CertificateAuthority, KeyPair, write_private, write_public

PKI_DIR = "/etc/tugboat/pki"
"""Where configure.sh --pki reads a node's files (kubeadm's /etc/kubernetes/pki)."""


@dataclass(frozen=True)
class Admin:
    """What the host keeps: the CA's PEM and the admin's certificate and key."""

    ca: bytes
    cert: bytes
    key: bytes


def _pair(folder: Path, stem: str, pair: KeyPair) -> None:
    write_public(folder / f"{stem}.crt", pair.cert)
    write_private(folder / f"{stem}.key", pair.key)


def signing_key() -> bytes:
    """A new PEM ECDSA P-256 key for signing ServiceAccount tokens (ES256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def encryption_config() -> bytes:
    """An EncryptionConfiguration putting Secrets under AES-GCM with a new random key."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return (
        "apiVersion: apiserver.config.k8s.io/v1\n"
        "kind: EncryptionConfiguration\n"
        "resources:\n"
        "- resources: [secrets]\n"
        "  providers:\n"
        f"  - aesgcm: {{keys: [{{name: key1, secret: {key}}}]}}\n"
        "  - identity: {}\n"
    ).encode()


def client_signer(cluster: str) -> CertificateAuthority:
    """A new CA for the controller manager's csrsigning controller, apart from the cluster
    CA: trusted by the API servers for client certificates and by nothing else, so what it
    signs for a user opens neither etcd nor the kubelets."""
    return CertificateAuthority.create(f"tugboat-{cluster}-client-signer")


def client_ca_bundle(*authorities: CertificateAuthority) -> bytes:
    """The API servers' --client-ca-file: the PEMs of `authorities` one after the other,
    which Python's ssl (`load_verify_locations`) and gRPC both read as several roots."""
    return b"".join(authority.cert_pem for authority in authorities)


def issue(
    root: Path,
    cluster: str,
    masters: dict[str, str],
    workers: dict[str, str],
    etcd: list[str],
) -> Admin:
    """Write `root/<node>/` for every node (masters and workers: name -> address; `etcd`
    the addresses of the etcd members); the admin's credentials."""
    ca = CertificateAuthority.create(f"tugboat-{cluster}-ca")
    signer = client_signer(cluster)
    signing = signing_key()
    encryption = encryption_config()
    for name, address in masters.items():
        folder = root / name
        write_public(folder / "ca.crt", ca.cert_pem)
        # The signer's key, not the cluster CA's: the controller manager signs approved
        # CertificateSigningRequests, and what it signs must not open etcd.
        signer.save(folder / "signing-ca.crt", folder / "signing-ca.key")
        write_public(folder / "client-ca.crt", client_ca_bundle(ca, signer))
        write_private(folder / "service-account.key", signing)
        write_private(folder / "encryption.yaml", encryption)
        served = ca.issue(
            "kube-apiserver",
            server=True,
            hosts=[address, "127.0.0.1", "localhost", name, "kubernetes.default"],
        )
        _pair(folder, "apiserver", served)
        if address in etcd:
            member = ca.issue("etcd", server=True, client=True, hosts=[address, "127.0.0.1"])
            _pair(folder, "etcd", member)
        _pair(folder, "etcd-client", ca.issue("kube-apiserver-etcd-client", client=True))
        _pair(
            folder,
            "kubelet-client",
            ca.issue(
                "kube-apiserver-kubelet-client", organizations=["system:masters"], client=True
            ),
        )
        _pair(folder, "scheduler", ca.issue("system:kube-scheduler", client=True))
        _pair(folder, "controller-manager", ca.issue("system:kube-controller-manager", client=True))
    for name, address in workers.items():
        folder = root / name
        write_public(folder / "ca.crt", ca.cert_pem)
        node = f"system:node:{name}"
        _pair(folder, "node", ca.issue(node, organizations=["system:nodes"], client=True))
        _pair(folder, "kubelet", ca.issue(node, server=True, hosts=[address, name]))
        _pair(folder, "proxy", ca.issue("system:kube-proxy", client=True))
    admin = ca.issue("admin", organizations=["system:masters"], client=True)
    write_public(root / "ca.crt", ca.cert_pem)
    _pair(root, "admin", admin)
    return Admin(ca.cert_pem, admin.cert, admin.key)
