"""`tug etcd snapshot save|restore`: what they refuse, and why, before touching anything.

The whole round trip (save, every member's data destroyed, restore, the workload
adopted) is tests/chaos/test_disaster_recovery.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli.tugrun import run_tug


def recorded_cluster(tug_home: Path, name: str) -> Path:
    """A cluster's state file recording one etcd member that is not running."""
    root = tug_home / "clusters" / name
    root.mkdir(parents=True)
    member = {
        "name": "etcd", "pid": 2**22 + 7, "start_time": 0, "log": str(root / "etcd.log"),
        "argv": ["etcd", "--name", f"{name}-etcd", "--data-dir", str(root / "etcd")],
    }  # fmt: skip
    state = {"name": name, "base_port": 47000, "masters": 1, "processes": [member]}
    (root / "state.json").write_text(json.dumps(state))
    return root


async def test_a_cluster_tug_did_not_start_is_named(tug_home: Path, tmp_path: Path) -> None:
    for verb in ("save", "restore"):
        done = await run_tug("etcd", "snapshot", verb, str(tmp_path / "x.db"), "--name", "nope")
        assert done.code != 0
        assert '--name: no local cluster "nope" is running' in done.err


async def test_a_file_that_is_not_a_snapshot_is_refused_before_anything_stops(
    tug_home: Path, tmp_path: Path
) -> None:
    root = recorded_cluster(tug_home, "broken")
    before = (root / "state.json").read_text()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a snapshot")
    done = await run_tug("etcd", "snapshot", "restore", str(garbage), "--name", "broken")
    assert done.code != 0
    assert f"FILE: {garbage} is not an etcd snapshot" in done.err
    missing = await run_tug("etcd", "snapshot", "restore", str(tmp_path / "none.db"),
                            "--name", "broken")  # fmt: skip
    assert missing.code != 0 and "is not a file" in missing.err
    assert (root / "state.json").read_text() == before


async def test_saving_from_a_cluster_whose_etcd_is_down_names_every_member_tried(
    tug_home: Path, tmp_path: Path
) -> None:
    recorded_cluster(tug_home, "down")
    target = tmp_path / "snap.db"
    done = await run_tug("etcd", "snapshot", "save", str(target), "--name", "down")
    assert done.code != 0
    assert "no etcd member gave a snapshot" in done.err and "127.0.0.1:47" in done.err
    assert not target.exists()
