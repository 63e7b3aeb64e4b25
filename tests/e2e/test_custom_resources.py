"""A CRD on a real cluster (etcd, an API server, the controllers, a Docker node), through
`tug`: the Website CRD of examples/operator/ refuses a bad Website naming the field, and
with the example operator running a Website becomes a Deployment of real pods and a
Service; `tug get` prints the CRD's printer columns as the operator reports the ready
replicas, and deleting the Website takes its Deployment and Service along.

Its own small cluster (one master, one node), as the other e2e modules that need one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, running_cluster
from tests.support.crds import CRD_FILE, EXAMPLE
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WEBSITE_FILE = EXAMPLE / "website.yaml"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home: Path = tmp_path_factory.mktemp("crd") / "tug-home"
    with running_cluster(home, name="crd", masters=1, nodes=1) as c:
        yield c


@pytest.fixture
def operator(small: Cluster, tmp_path: Path) -> Iterator[Path]:
    """The example operator as a process of its own, with the admin's certificate."""
    auth = small.root / "auth"
    log = tmp_path / "operator.log"
    args = ["--server", ",".join(small.servers)]
    if (auth / "ca.crt").exists():
        args += [
            "--ca",
            str(auth / "ca.crt"),
            "--cert",
            str(auth / "admin.crt"),
            "--key",
            str(auth / "admin.key"),
        ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLE / "website_operator.py"), *args],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def cell(table: str, name: str, column: str) -> str:
    """One cell of a `tug get` table, by the header's offsets (a blank cell stays blank)."""
    lines = table.splitlines()
    header = lines[0]
    start = header.index(column)
    after = [header.index(h, start + 1) for h in header[start:].split()[1:2]]
    end = after[0] if after else None
    for line in lines[1:]:
        if line.split()[0] == name:
            return line[start:end].strip()
    raise AssertionError(f"no row {name!r} in:\n{table}")


def test_a_website_on_a_real_cluster_through_tug_and_the_example_operator(
    small: Cluster, operator: Path
) -> None:
    tug = small.tug
    try:
        assert tug("apply", "-f", str(CRD_FILE)).ok() == (
            "customresourcedefinition.apiextensions.k8s.io/websites.examples.tugboat.io created\n"
        )
        bad = WEBSITE_FILE.read_text().replace("replicas: 2", "replicas: many")
        refused = tug("apply", "-f", "-", stdin=bad)
        assert refused.code == 1
        named = 'spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
        assert named + 'integer: "string"' in refused.err
        assert tug("get", "ws").err.startswith("No resources found")

        assert tug("apply", "-f", str(WEBSITE_FILE)).ok() == (
            "website.examples.tugboat.io/hello created\n"
        )

        def ready() -> str | None:
            table = tug("get", "websites").ok()
            return table if cell(table, "hello", "READY") == "2" else None

        table = wait_until(
            ready, timeout=180, interval=1, what=f"2 ready (operator log: {operator})"
        )
        assert table.splitlines()[0].split() == ["NAME", "IMAGE", "REPLICAS", "READY", "AGE"]
        assert cell(table, "hello", "IMAGE") == "busybox:1.35"
        wide = tug("get", "ws", "hello", "-o", "wide").ok()
        assert cell(wide, "hello", "URL") == "http://hello.default.svc.cluster.local:80"
        deployment = tug("get", "deploy", "hello").ok()
        assert cell(deployment, "hello", "READY") == "2/2"
        assert "hello" in tug("get", "svc", "hello").ok()

        assert tug("delete", "website", "hello").ok() == (
            'website.examples.tugboat.io "hello" deleted\n'
        )

        def collected() -> bool:
            return all(tug("get", kind, "hello").code != 0 for kind in ("deploy", "svc"))

        wait_until(collected, timeout=60, interval=1, what="the Deployment and Service collected")
    finally:
        tug("delete", "crd", "websites.examples.tugboat.io")
