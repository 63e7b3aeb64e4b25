"""The node image rebuilds only when what it is built from changes.

`make images` has already built it (from a clean engine in CI); building again with
nothing changed must say so and leave the very same image.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.cluster.layout import NODE_IMAGE
from tests.support.container_cluster import docker

pytestmark = pytest.mark.docker

BUILD = Path(__file__).resolve().parents[3] / "deploy" / "node-image" / "build.sh"


def _image_id() -> str:
    return docker("image", "inspect", "-f", "{{.Id}}", NODE_IMAGE).strip()


def _build(timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("REBUILD", None)
    return subprocess.run(
        ["bash", str(BUILD)], capture_output=True, text=True, timeout=timeout, check=True, env=env
    )


def test_a_second_build_with_nothing_changed_rebuilds_nothing() -> None:
    _build(900)  # whatever state the engine is in, an up-to-date image afterwards
    before = _image_id()
    again = _build(120)
    assert "is up to date" in again.stdout, again.stdout + again.stderr
    assert _image_id() == before


def test_the_image_carries_the_hash_of_its_inputs_and_the_provisioned_units() -> None:
    inputs = docker(
        "image", "inspect", "-f", '{{index .Config.Labels "io.tugboat.inputs"}}', NODE_IMAGE
    ).strip()
    assert len(inputs) == 16
    units = docker(
        "run", "--rm", "--entrypoint", "ls", NODE_IMAGE, "/etc/systemd/system"
    ).split()
    for unit in ("tug-etcd.service", "tug-apiserver.service", "tug-kubelet.service"):
        assert unit in units
