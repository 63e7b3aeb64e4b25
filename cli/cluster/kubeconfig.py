"""The kubeconfig `tug up` writes for kubectl and the official clients.

Tugboat's own config (cli/config.py) lists every API server's gRPC endpoint; kubectl's
kubeconfig has one HTTP server per cluster. `tug up` writes one next to the cluster's
state (`$TUG_HOME/clusters/NAME/kubeconfig`), pointing at the first master's HTTP port,
and `tug config kubeconfig-path` prints where it is:

    KUBECONFIG=$(tug config kubeconfig-path) kubectl get nodes
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from cli.config import tug_home


def path_for(cluster: str) -> Path:
    """Where the kubeconfig of the cluster named `cluster` is."""
    return tug_home() / "clusters" / cluster / "kubeconfig"


def _user(token: str, cert: bytes, key: bytes) -> dict[str, str]:
    user = {"token": token} if token else {}
    if cert and key:
        user["client-certificate-data"] = base64.b64encode(cert).decode()
        user["client-key-data"] = base64.b64encode(key).decode()
    return user


def write(
    cluster: str,
    server: str,
    namespace: str = "default",
    token: str = "",
    ca: bytes = b"",
    cert: bytes = b"",
    key: bytes = b"",
) -> Path:
    """Write the cluster's kubeconfig: one cluster, user and context, all named `cluster`."""
    # An empty address variable must never become a kubeconfig aimed at nothing.
    url = urlsplit(server)
    if url.scheme not in ("http", "https") or not url.hostname or url.port is None:
        raise ValueError(f"kubeconfig server {server!r} is not a URL with a host and port")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {
                    "server": server,
                    **({"certificate-authority-data": base64.b64encode(ca).decode()} if ca else {}),
                },
            }
        ],
        "users": [{"name": cluster, "user": _user(token, cert, key)}],
        "contexts": [
            {
                "name": cluster,
                "context": {"cluster": cluster, "user": cluster, "namespace": namespace},
            }
        ],
        "current-context": cluster,
        "preferences": {},
    }
    path = path_for(cluster)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("kubeconfig.tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.chmod(0o600)  # it may hold the admin's token
    tmp.replace(path)
    return path
