"""deploy/provision/configure.sh refuses a bad role, name or address before writing anything.

Every address it writes comes from its flags, so an empty or malformed one must stop it:
no daemon may be pointed at what an empty variable leaves.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "deploy" / "provision" / "configure.sh"
GOOD = ["--role", "worker", "--name", "w1", "--address", "10.0.0.21", "--masters", "10.0.0.11"]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *argv], capture_output=True, text=True, timeout=30, check=False
    )


def _with(flag: str, value: str) -> list[str]:
    argv = list(GOOD)
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    return argv


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("--role", "boss", "--role must be master or worker"),
        ("--name", "", "--name '' is not a valid node name"),
        ("--address", "", "--address '' is not an IPv4 address"),
        ("--address", "10.0.0.300", "is not an IPv4 address"),
        ("--masters", "", "--masters needs at least one master address"),
        ("--masters", "10.0.0.11,,10.0.0.12", "--masters: '' is not an IPv4 address"),
        ("--masters", "10.0.0.11,master-2", "--masters: 'master-2' is not an IPv4 address"),
        ("--etcd", "nowhere", "--etcd: 'nowhere' is not an IPv4 address"),
        ("--docker-bip", "10.250.0.1", "--docker-bip"),
        ("--cluster", "Big Cluster", "--cluster"),
    ],
)
def test_a_bad_flag_stops_the_script_before_anything_is_written(
    flag: str, value: str, problem: str
) -> None:
    done = _run(_with(flag, value))
    assert done.returncode == 2, done.stdout
    assert problem in done.stderr
    assert "configured" not in done.stdout


def test_an_unknown_flag_is_refused() -> None:
    done = _run([*GOOD, "--colour", "blue"])
    assert done.returncode == 2 and "unknown argument --colour" in done.stderr


def test_a_pki_folder_missing_a_file_its_role_needs_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("CA")
    (tmp_path / "node.crt").write_text("cert")
    done = _run([*GOOD, "--pki", str(tmp_path)])
    assert done.returncode == 2, done.stdout
    assert f"--pki: {tmp_path}/node.key is missing" in done.stderr
    relative = _run([*GOOD, "--pki", "pki"])
    assert relative.returncode == 2 and "--pki 'pki' is not an absolute path" in relative.stderr
