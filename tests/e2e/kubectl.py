"""The real kubectl against the shared cluster, for e2e tests that need what `tug` does not
send (a JSON patch of a subresource), as one synchronous call per command."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from tests.support.cluster import Cluster


def kubectl(cluster: Cluster, *args: str, stdin: str = "") -> str:
    """kubectl with the kubeconfig `tug up` wrote; its output, failing on an error."""
    config = cluster.tug("config", "kubeconfig-path").ok().strip()
    done = subprocess.run(
        ["kubectl", *args],
        env={**os.environ, "KUBECONFIG": config},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout


def read(cluster: Cluster, *what: str) -> Any:
    """`kubectl get WHAT -o json`, parsed."""
    return json.loads(kubectl(cluster, "get", *what, "-o", "json"))
