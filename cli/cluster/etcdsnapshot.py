"""`tug etcd snapshot save FILE` and `tug etcd snapshot restore FILE`: backup and disaster
recovery of a local cluster's etcd, with etcd's own tool doing the byte work.

Save asks the first member that answers for a snapshot (`etcdctl snapshot save`), with
the API servers' client certificate on a secure cluster. Restore follows Kubernetes'
recovery procedure for every member at once, because a snapshot is the whole cluster's
state and members restored from different ones would disagree:

1. stop every process of the cluster (the kubelets leave their containers running);
2. move each member's data folder aside (`<folder>.before-restore`, replacing an older
   one) and have `etcdctl snapshot restore` write a new one with the member's name, peer
   URL, initial cluster and token read from the member's recorded command line, so the
   restored members form the same cluster;
3. start everything again in its recorded order, etcd first, each API server waited for.

Every component starts afresh rather than resuming, as Kubernetes' procedure asks: the
restored revision is older than what their watches had seen, and a watch resumed from a
revision etcd has not reached would stay silent. A kubelet that starts adopts the
running containers of pods the snapshot holds and removes those of pods it does not.

Restore is for clusters `tug up` started as processes; on container nodes and hosts the
same `etcdctl snapshot restore` runs on each member.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cli.cluster import credentials, processes, state
from cli.cluster.commands import default_name, tiers
from cli.cluster.layout import HOST, Layout
from cli.cluster.processes import Record
from cli.cluster.supervisor import READY_TIMEOUT
from cli.errors import CliError
from cli.invocation import Invocation

ETCDCTL = "etcdctl"
TIER_ORDER = ("etcd", "apiserver", "scheduler", "controller-manager", "kubelet", "proxy")
"""Kinds of process in start order; anything else recorded starts last."""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug etcd snapshot save|restore FILE`."""
    p = sub.add_parser("etcd", parents=[common], help="back up and restore the cluster's etcd")
    groups = p.add_subparsers(dest="group", metavar="GROUP", required=True)
    snap = groups.add_parser("snapshot", parents=[common], help="etcd snapshots")
    verbs = snap.add_subparsers(dest="verb", metavar="VERB", required=True)
    save = verbs.add_parser("save", parents=[common], help="write a snapshot of etcd to FILE")
    restore = verbs.add_parser(
        "restore", parents=[common], help="put FILE back in every member and restart the cluster"
    )
    for verb, func in ((save, save_command), (restore, restore_command)):
        verb.add_argument("file", type=Path, metavar="FILE")
        verb.add_argument("--name", default="", help="the local cluster (default: the context's)")
        verb.set_defaults(func=func)


def _cluster(inv: Invocation) -> tuple[Layout, state.State]:
    """The local cluster named (or the context's), with what `tug up` recorded of it."""
    layout = Layout(inv.args.name or default_name(inv))
    found = state.load(layout)
    if found is None:
        raise CliError(f'--name: no local cluster "{layout.name}" is running')
    if found.driver != "process":
        raise CliError(
            f'cluster "{layout.name}" runs on container nodes: run `etcdctl snapshot` '
            "in its master containers"
        )
    kinds = [processes.tier(r) for r in found.processes]
    layout = Layout(
        found.name,
        found.base_port,
        found.masters,
        nodes=kinds.count("kubelet"),
        etcd_members=max(1, kinds.count("etcd")),
        secure=credentials.ca_file(layout).exists(),
        home=layout.home,
    )
    return layout, found


def _tls_flags(layout: Layout) -> list[str]:
    if not layout.secure:
        return []
    cert, key = credentials.certificate_files(layout, credentials.ETCD_CLIENT)
    return [f"--cacert={credentials.ca_file(layout)}", f"--cert={cert}", f"--key={key}"]


def _etcdctl(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run etcdctl (API v3); a run past `timeout` is a failure like any other."""
    if shutil.which(ETCDCTL) is None:
        raise CliError("etcdctl is not installed (Debian: etcd-client; `make setup` installs it)")
    command = [ETCDCTL, *argv]
    try:
        return subprocess.run(
            command,
            env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin:/usr/local/bin"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 1, "", f"no answer within {timeout:g}s")


def _save_from(endpoint: str, tls: list[str], target: Path) -> str:
    """Save a snapshot from one member; "" when done, else why not. etcdctl's save waits
    for a member that does not answer, so its health is asked first, briefly."""
    health = _etcdctl(
        f"--endpoints={endpoint}", *tls, "--dial-timeout=2s", "--command-timeout=5s",
        "endpoint", "health", timeout=15,
    )  # fmt: skip
    if health.returncode != 0:
        return (health.stderr or health.stdout).strip().splitlines()[0]
    done = _etcdctl(f"--endpoints={endpoint}", *tls, "snapshot", "save", str(target))
    if done.returncode == 0:
        return ""
    target.with_name(target.name + ".part").unlink(missing_ok=True)
    return (done.stderr or done.stdout).strip()


async def save_command(inv: Invocation) -> int:
    """Snapshot from the first member that answers; the file is complete or absent."""
    layout, _ = _cluster(inv)
    target: Path = inv.args.file
    if not await asyncio.to_thread(target.parent.is_dir):
        raise CliError(f"FILE: {target.parent} is not a folder")
    scheme = "https" if layout.secure else "http"
    failures = []
    for member in range(layout.etcd_members):
        endpoint = f"{scheme}://{HOST}:{layout.etcd_client_port(member)}"
        why = await asyncio.to_thread(_save_from, endpoint, _tls_flags(layout), target)
        if not why:
            inv.out(f"Snapshot of {layout.name}'s etcd saved to {target} (from {endpoint}).")
            return 0
        failures.append(f"{endpoint}: {why}")
    raise CliError("no etcd member gave a snapshot:\n  " + "\n  ".join(failures))


def _flag(record: Record, name: str) -> str:
    """The value of `--name value` (or `--name=value`) in a recorded etcd command line."""
    argv = record.argv
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.partition("=")[2]
    raise CliError(f"{record.name}'s recorded command line has no {name}")


def _order(record: Record) -> int:
    kind = processes.tier(record)
    return TIER_ORDER.index(kind) if kind in TIER_ORDER else len(TIER_ORDER)


async def restore_command(inv: Invocation) -> int:
    """Stop the cluster, restore every member's data from FILE, start the cluster."""
    layout, found = _cluster(inv)
    snapshot: Path = inv.args.file
    await asyncio.to_thread(_check_snapshot, snapshot)
    records = sorted(found.processes, key=_order)
    members = [r for r in records if _order(r) == 0]
    inv.out(f"Stopping {len(records)} processes of {layout.name}.")
    survivors = await processes.stop_all(records)
    if survivors:
        raise CliError(f"could not stop {', '.join(r.name for r in survivors)}")
    for member in members:
        inv.out(await asyncio.to_thread(_restore_member, snapshot, member))
    await _start_again(inv, layout, found, records)
    inv.out(f"Cluster {layout.name} restored from {snapshot}.")
    return 0


def _check_snapshot(snapshot: Path) -> None:
    if not snapshot.is_file():
        raise CliError(f"FILE: {snapshot} is not a file")
    status = _etcdctl("snapshot", "status", str(snapshot))
    if status.returncode != 0:
        raise CliError(f"FILE: {snapshot} is not an etcd snapshot: {status.stderr.strip()}")


def _restore_member(snapshot: Path, member: Record) -> str:
    """Move the member's data aside and restore the snapshot in its place, as the same
    member of the same cluster; what was done, for the user."""
    data = Path(_flag(member, "--data-dir"))
    aside = data.with_name(data.name + ".before-restore")
    if aside.exists():
        shutil.rmtree(aside)
    kept = data.exists()
    if kept:
        data.rename(aside)
    done = _etcdctl(
        "snapshot", "restore", str(snapshot),
        f"--name={_flag(member, '--name')}",
        f"--initial-cluster={_flag(member, '--initial-cluster')}",
        f"--initial-cluster-token={_flag(member, '--initial-cluster-token')}",
        f"--initial-advertise-peer-urls={_flag(member, '--initial-advertise-peer-urls')}",
        f"--data-dir={data}",
    )  # fmt: skip
    if done.returncode != 0:
        raise CliError(f"restoring {member.name} into {data}: {done.stderr.strip()}")
    where = f" (the old data is in {aside.name})" if kept else ""
    return f"  {member.name}: restored into {data}{where}"


async def _start_again(
    inv: Invocation, layout: Layout, found: state.State, records: list[Record]
) -> None:
    """Spawn each recorded process again, tier by tier, waiting for etcd and API servers."""
    checks = {c.name: c.ready for tier in tiers(layout, ETCDCTL) for c in tier}
    started: dict[str, Record] = {}
    for order in range(len(TIER_ORDER) + 1):
        tier = [r for r in records if _order(r) == order]
        if not tier:
            continue
        for old in tier:
            started[old.name] = await asyncio.to_thread(
                processes.spawn, old.name, old.argv, Path(old.log), layout.root, old.ports
            )
        found.processes = [started.get(r.name, r) for r in found.processes]
        state.save(layout, found)
        if order <= 1:
            await asyncio.gather(*(_ready(started[r.name], checks.get(r.name)) for r in tier))
        inv.out(f"  started {', '.join(r.name for r in tier)}")


async def _ready(record: Record, check: Any) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    # One turn every 0.1 s until ready, dead, or past the deadline.
    for _ in range(int(READY_TIMEOUT * 10) + 1):
        if not processes.alive(record):
            raise CliError(f"{record.name} exited on start; see {record.log}")
        if check is None or await check():
            return
        if loop.time() >= deadline:
            break
        await asyncio.sleep(0.1)
    raise CliError(f"{record.name} was not ready within {READY_TIMEOUT:g}s; see {record.log}")
