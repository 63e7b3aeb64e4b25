"""The credentials of a secure local cluster (`tug up --secure`): a CA, the API servers'
serving certificate, and a client certificate and a token per identity.

Every daemon proves who it is with its client certificate (CN the user, O the groups),
which the API servers demand on gRPC; the tokens remain for HTTPS clients (kubectl's
kubeconfig holds the admin's).

As kube-apiserver's `--token-auth-file`: one line per identity, the token a random 32
bytes. The users are Kubernetes' own, so the default RBAC policy and the node authorizer
recognise them: `system:kube-scheduler`, `system:kube-controller-manager`,
`system:kube-proxy`, `system:node:<node>` in `system:nodes`, and the admin in
`system:masters`. Each component reads its token from its own file (`--token-file`);
every file is 0600 in a 0700 directory. Existing tokens are kept, so a restarted process
still authenticates; `--fresh` wipes them with the rest of the cluster's data.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cli.cluster import hostpki
from cli.cluster.layout import HOST, Layout
from cli.cluster.pki import CertificateAuthority, write_private, write_public

ADMIN = "admin"
SCHEDULER = "system:kube-scheduler"
CONTROLLER_MANAGER = "system:kube-controller-manager"
PROXY = "system:kube-proxy"
KUBELET_CLIENT = "kube-apiserver-kubelet-client"
"""The API servers' identity towards kubelets; the kubelets admit system:masters only."""
ETCD_CLIENT = "kube-apiserver-etcd-client"
"""The API servers' identity towards etcd, which admits any certificate of the CA."""
PROMETHEUS = "prometheus"
"""What Prometheus shows: etcd demands a certificate, and the API servers' /metrics a user
of group system:monitoring."""


def _file(layout: Layout, identity: str) -> Path:
    return layout.auth_dir / (identity.replace("system:", "").replace(":", "-") + ".token")


def token_file(layout: Layout, identity: str) -> Path:
    """The file holding `identity`'s token."""
    return _file(layout, identity)


def node_identity(layout: Layout, j: int) -> str:
    return f"system:node:{layout.node_name(j)}"


def token_auth_file(layout: Layout) -> Path:
    """The API servers' --token-auth-file."""
    return layout.auth_dir / "tokens.csv"


def _identities(layout: Layout) -> list[tuple[str, str]]:
    """(user, groups) of every identity the cluster needs."""
    return [
        (ADMIN, "system:masters"),
        (SCHEDULER, ""),
        (CONTROLLER_MANAGER, ""),
        (PROXY, ""),
        *((node_identity(layout, j), "system:nodes") for j in range(layout.nodes)),
    ]


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def ensure_tokens(layout: Layout) -> str:
    """Write any missing token and the token file; the admin's token."""
    layout.auth_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.auth_dir, 0o700)
    lines = []
    for user, groups in _identities(layout):
        path = _file(layout, user)
        token = path.read_text().strip() if path.exists() else ""
        if not token:
            token = secrets.token_urlsafe(32)
            _write_private(path, token + "\n")
        lines.append(f'{token},{user},{user},"{groups}"\n')
    _write_private(token_auth_file(layout), "".join(lines))
    return _file(layout, ADMIN).read_text().strip()


def ca_file(layout: Layout) -> Path:
    return layout.auth_dir / "ca.crt"


def ca_key_file(layout: Layout) -> Path:
    """The cluster CA's private key, which only ensure_pki reads: nothing that signs what
    users ask for may hold it, since etcd admits any certificate of the cluster CA."""
    return layout.auth_dir / "ca.key"


def signing_ca_files(layout: Layout) -> tuple[Path, Path]:
    """The client signer's certificate and key: the controller managers'
    --cluster-signing-cert-file and --cluster-signing-key-file (they sign approved
    CertificateSigningRequests). A CA of its own, which only the API servers trust."""
    return layout.auth_dir / "signing-ca.crt", layout.auth_dir / "signing-ca.key"


def client_ca_bundle(layout: Layout) -> Path:
    """The API servers' --client-ca-file: the cluster CA and the client signer, so a
    certificate the controller manager signs opens the API servers (and only them)."""
    return layout.auth_dir / "client-ca.crt"


def apiserver_cert_files(layout: Layout) -> tuple[Path, Path]:
    """The API servers' serving certificate and key (one for every master here: they all
    listen on the same loopback address)."""
    return layout.auth_dir / "apiserver.crt", layout.auth_dir / "apiserver.key"


def certificate_files(layout: Layout, identity: str) -> tuple[Path, Path]:
    """`identity`'s client certificate and key."""
    token = _file(layout, identity)
    return token.with_suffix(".crt"), token.with_suffix(".key")


def etcd_cert_files(layout: Layout) -> tuple[Path, Path]:
    """etcd's serving and peer certificate and key (every member on the same address)."""
    return layout.auth_dir / "etcd.crt", layout.auth_dir / "etcd.key"


def kubelet_serving_files(layout: Layout, j: int) -> tuple[Path, Path]:
    """Node j's node-agent serving certificate and key."""
    base = layout.auth_dir / f"kubelet-{layout.node_name(j)}"
    return base.with_suffix(".serving.crt"), base.with_suffix(".serving.key")


def _authority(
    cert_path: Path, key_path: Path, create: Callable[[], CertificateAuthority]
) -> CertificateAuthority:
    """The CA saved at the paths, or a new one saved there: made once, since every
    certificate it signed (and every user's from a signing request) depends on it."""
    if cert_path.exists() and key_path.exists():
        return CertificateAuthority.load(cert_path, key_path)
    ca = create()
    ca.save(cert_path, key_path)
    return ca


def ensure_pki(layout: Layout) -> bytes:
    """The cluster CA and the client signer (each made once; a cluster made before the
    signer existed gets one here), the API servers' client CA bundle and certificate, and
    every identity's client certificate; the cluster CA's PEM."""
    layout.auth_dir.mkdir(parents=True, exist_ok=True)
    ca = _authority(
        ca_file(layout),
        ca_key_file(layout),
        lambda: CertificateAuthority.create(f"tugboat-{layout.name}-ca"),
    )
    signer = _authority(*signing_ca_files(layout), lambda: hostpki.client_signer(layout.name))
    write_public(client_ca_bundle(layout), hostpki.client_ca_bundle(ca, signer))
    served = ca.issue(
        "kube-apiserver", server=True, hosts=[HOST, "localhost", "kubernetes.default"]
    )
    cert, key = apiserver_cert_files(layout)
    write_public(cert, served.cert)
    write_private(key, served.key)
    extra = [
        (KUBELET_CLIENT, "system:masters"),
        (ETCD_CLIENT, ""),
        (PROMETHEUS, "system:monitoring"),
    ]
    for user, groups in [*_identities(layout), *extra]:
        issued = ca.issue(user, organizations=[g for g in groups.split(",") if g], client=True)
        cert, key = certificate_files(layout, user)
        write_public(cert, issued.cert)
        write_private(key, issued.key)
    # etcd serves its clients and its peers with one certificate, and shows it as a peer.
    served = ca.issue("etcd", server=True, client=True, hosts=[HOST, "localhost"])
    cert, key = etcd_cert_files(layout)
    write_public(cert, served.cert)
    write_private(key, served.key)
    for j in range(layout.nodes):
        # The API servers dial the node agent at the node's address and verify it.
        name = layout.node_name(j)
        issued = ca.issue(f"system:node:{name}", server=True, hosts=[layout.node_address(j), name])
        cert, key = kubelet_serving_files(layout, j)
        write_public(cert, issued.cert)
        write_private(key, issued.key)
    if not service_account_key(layout).exists():
        # Kept across restarts: a new key would invalidate every pod's mounted token.
        write_private(service_account_key(layout), hostpki.signing_key())
    return ca.cert_pem


def service_account_key(layout: Layout) -> Path:
    """The API servers' --service-account-signing-key-file (made by ensure_pki)."""
    return layout.auth_dir / "service-account.key"


def encryption_config(layout: Layout) -> Path:
    """The API servers' --encryption-provider-config: Secrets under AES-GCM."""
    return layout.auth_dir / "encryption.yaml"


def ensure_encryption(layout: Layout) -> None:
    """Write the encryption configuration with a random key, once (a new key would make
    the Secrets already stored unreadable)."""
    path = encryption_config(layout)
    if path.exists():
        return
    write_private(path, hostpki.encryption_config())
