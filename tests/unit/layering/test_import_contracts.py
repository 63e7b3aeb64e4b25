"""The import-layer contracts `make lint` checks (pyproject.toml [tool.importlinter]) hold on
the tree, and fail on a deliberately wrong import: a tree of empty packages with the real
contracts, once clean and once with one component importing another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT = Path(sys.executable).parent / "lint-imports"
PACKAGES = [
    "proto", "client", "kubelet", "proxy", "cli", "master", "master/apiserver",
    "master/scheduler", "master/controllermanager", "master/controllers",
    "master/statemetrics", "kubelet/network", "kubelet/runtime", "kubelet/pods",
]  # fmt: skip


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), str(where / "pyproject.toml"), "--no-cache"],
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Empty packages under the contracts of this repository's pyproject.toml."""
    for package in PACKAGES:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "client" / "api.py").write_text("import proto\n")
    (tmp_path / "kubelet" / "main.py").write_text("import client.api\n")
    section = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    # JSON's strings and arrays of strings are TOML's too.
    config = ["[tool.importlinter]", f"root_packages = {json.dumps(section['root_packages'])}"]
    for contract in section["contracts"]:
        config.append("[[tool.importlinter.contracts]]")
        config.extend(f"{key} = {json.dumps(value)}" for key, value in contract.items())
    (tmp_path / "pyproject.toml").write_text("\n".join(config) + "\n")
    return tmp_path


def test_the_tree_keeps_every_layer_contract():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_clean_tree_passes_and_a_kubelet_importing_the_api_server_fails(tree: Path):
    assert _lint(tree).returncode == 0, _lint(tree).stdout
    (tree / "kubelet" / "cheat.py").write_text("from master.apiserver import registry\n")
    done = _lint(tree)
    assert done.returncode != 0
    assert "The components never import each other BROKEN" in done.stdout
    assert "kubelet.cheat -> master.apiserver" in done.stdout


def test_the_kubelets_network_package_importing_its_runtime_fails(tree: Path):
    (tree / "kubelet" / "network" / "bridge.py").write_text("import kubelet.runtime\n")
    done = _lint(tree)
    assert done.returncode != 0
    assert "network package stands below its runtime and pods BROKEN" in done.stdout


def test_client_importing_a_component_fails(tree: Path):
    (tree / "client" / "shortcut.py").write_text("import cli\n")
    done = _lint(tree)
    assert done.returncode != 0
    assert "client/ and proto/ import no component BROKEN" in done.stdout


def test_the_api_server_importing_a_controller_fails(tree: Path):
    (tree / "master" / "apiserver" / "helper.py").write_text("import master.controllers\n")
    done = _lint(tree)
    assert done.returncode != 0
    assert "The API server imports no controller BROKEN" in done.stdout
