"""What a container cluster is made of: from `tug up` flags, or from a file in kind's spirit.

    apiVersion: tugboat/v1alpha1
    kind: Cluster
    name: demo                    # optional; --name wins
    etcdMembers: 3                # masters that run etcd (default: every master, at most 5)
    nodes:
    - role: master                # kind's "control-plane" is accepted too
    - role: worker
      labels: {disktype: ssd}
      taints: [{key: dedicated, value: db, effect: NoSchedule}]
      extraPortMappings:          # a host port to a port of this node (a NodePort)
      - {containerPort: 30080, hostPort: 8080, listenAddress: 127.0.0.1, protocol: TCP}

Every mistake is refused before anything starts, naming the field and the file
(`cluster.yaml: nodes[2].taints[0].effect: Unsupported value "Sometimes": ...`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cli.errors import CliError
from client.names import is_qualified_name, is_valid_label_value

API_VERSION = "tugboat/v1alpha1"
ROLES = {"master": "master", "control-plane": "master", "worker": "worker"}
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
MAX_MASTERS = 9
MAX_WORKERS = 100
MAX_ETCD_MEMBERS = 5
_NODE_FIELDS = {"role", "labels", "taints", "extraPortMappings"}
_TOP_FIELDS = {"apiVersion", "kind", "name", "etcdMembers", "nodes"}


@dataclass(frozen=True)
class PortMapping:
    """A port of the host forwarded to a port of one node (`docker run -p`)."""

    container_port: int
    host_port: int
    listen_address: str = "127.0.0.1"
    """Loopback by default: the mapping is for this machine, not its network."""
    protocol: str = "TCP"

    def publish(self) -> str:
        """The `-p` value."""
        return (
            f"{self.listen_address}:{self.host_port}:{self.container_port}/"
            f"{self.protocol.lower()}"
        )


@dataclass(frozen=True)
class NodeSpec:
    """One node container as asked for."""

    role: str
    """"master" or "worker"."""
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[tuple[str, str, str], ...] = ()
    """(key, value, effect) each, registered with the Node (workers only)."""
    port_mappings: tuple[PortMapping, ...] = ()

    def kubelet_flags(self) -> list[str]:
        """The kubelet's --node-labels and --register-with-taints for this node."""
        flags = []
        if self.labels:
            flags += ["--node-labels", ",".join(f"{k}={v}" for k, v in self.labels.items())]
        if self.taints:
            flags += [
                "--register-with-taints",
                ",".join(f"{k}={v}:{e}" if v else f"{k}:{e}" for k, v, e in self.taints),
            ]
        return flags


@dataclass(frozen=True)
class ClusterSpec:
    """Masters and workers of a container cluster."""

    masters: tuple[NodeSpec, ...]
    workers: tuple[NodeSpec, ...]
    etcd_members: int
    name: str = ""


def from_flags(masters: int, workers: int, etcd_members: int | None) -> ClusterSpec:
    """The cluster `--masters N --workers M --etcd-members K` describe."""
    if not 1 <= masters <= MAX_MASTERS:
        raise CliError(f"--masters: must be between 1 and {MAX_MASTERS}, got {masters}")
    if not 0 <= workers <= MAX_WORKERS:
        raise CliError(f"--workers: must be between 0 and {MAX_WORKERS}, got {workers}")
    members = _members(etcd_members, masters, "--etcd-members")
    return ClusterSpec(
        tuple(NodeSpec("master") for _ in range(masters)),
        tuple(NodeSpec("worker") for _ in range(workers)),
        members,
    )


def _members(asked: int | None, masters: int, where: str) -> int:
    members = min(masters, MAX_ETCD_MEMBERS) if asked is None else asked
    if not 1 <= members <= min(masters, MAX_ETCD_MEMBERS):
        raise CliError(
            f"{where}: must be between 1 and {min(masters, MAX_ETCD_MEMBERS)} "
            f"(etcd runs on masters), got {members}"
        )
    return members


class _Reader:
    """Walks the YAML document, naming the file and the field of every problem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> CliError:
        return CliError(f"{self.path}: {where}: {problem}")

    def mapping(self, value: object, where: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}" if where else str(key),
                    f"unknown field (known: {', '.join(sorted(allowed))})",
                )
        return value

    def integer(self, value: object, where: str, low: int, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(where, f"must be a whole number from {low} to {high}, got {value!r}")
        return value

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"must be a string, got {value!r}")
        return value

    def node(self, value: object, where: str) -> NodeSpec:
        data = self.mapping(value, where, _NODE_FIELDS)
        role_text = self.text(data.get("role"), f"{where}.role")
        if role_text not in ROLES:
            raise self.fail(
                f"{where}.role", f'Unsupported value "{role_text}": "master", "worker"'
            )
        role = ROLES[role_text]
        labels = self.labels(data.get("labels", {}), f"{where}.labels")
        taints = tuple(
            self.taint(t, f"{where}.taints[{i}]")
            for i, t in enumerate(self.listed(data.get("taints", []), f"{where}.taints"))
        )
        ports = tuple(
            self.port_mapping(p, f"{where}.extraPortMappings[{i}]")
            for i, p in enumerate(
                self.listed(data.get("extraPortMappings", []), f"{where}.extraPortMappings")
            )
        )
        if role == "master" and (labels or taints):
            raise self.fail(where, "labels and taints are for workers (masters run no kubelet)")
        return NodeSpec(role, labels, taints, ports)

    def listed(self, value: object, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, f"must be a list, got {type(value).__name__}")
        return value

    def labels(self, value: object, where: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a mapping of label keys to values")
        out = {}
        for key, label in value.items():
            text = self.text(label, f"{where}[{key}]")
            problems = [*is_qualified_name(str(key)), *is_valid_label_value(text)]
            if problems:
                raise self.fail(f"{where}[{key}]", "; ".join(problems))
            out[str(key)] = text
        return out

    def taint(self, value: object, where: str) -> tuple[str, str, str]:
        data = self.mapping(value, where, {"key", "value", "effect"})
        key = self.text(data.get("key"), f"{where}.key")
        problems = is_qualified_name(key)
        if problems:
            raise self.fail(f"{where}.key", "; ".join(problems))
        val = self.text(data.get("value", ""), f"{where}.value")
        effect = self.text(data.get("effect"), f"{where}.effect")
        if effect not in EFFECTS:
            raise self.fail(
                f"{where}.effect",
                f'Unsupported value "{effect}": ' + ", ".join(f'"{e}"' for e in EFFECTS),
            )
        return key, val, effect

    def port_mapping(self, value: object, where: str) -> PortMapping:
        data = self.mapping(
            value, where, {"containerPort", "hostPort", "listenAddress", "protocol"}
        )
        container = self.integer(data.get("containerPort"), f"{where}.containerPort", 1, 65535)
        host = self.integer(data.get("hostPort"), f"{where}.hostPort", 1, 65535)
        address = self.text(data.get("listenAddress", "127.0.0.1"), f"{where}.listenAddress")
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise self.fail(
                f"{where}.listenAddress", f"{address!r} is not an IPv4 address"
            ) from None
        protocol = self.text(data.get("protocol", "TCP"), f"{where}.protocol").upper()
        if protocol not in ("TCP", "UDP"):
            raise self.fail(f"{where}.protocol", f'Unsupported value "{protocol}": "TCP", "UDP"')
        return PortMapping(container, host, address, protocol)


def load(path: Path) -> ClusterSpec:
    """The cluster a `--config` file describes; CliError naming the file and field."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as e:
        raise CliError(f"{path}: cannot read it: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise CliError(f"{path}: not YAML: {e}") from None
    r = _Reader(path)
    data = r.mapping(document, "", _TOP_FIELDS)
    if data.get("apiVersion") != API_VERSION:
        raise r.fail("apiVersion", f'must be "{API_VERSION}", got {data.get("apiVersion")!r}')
    if data.get("kind") != "Cluster":
        raise r.fail("kind", f'must be "Cluster", got {data.get("kind")!r}')
    name = r.text(data.get("name", ""), "name")
    nodes = [r.node(n, f"nodes[{i}]") for i, n in enumerate(r.listed(data.get("nodes"), "nodes"))]
    masters = tuple(n for n in nodes if n.role == "master")
    workers = tuple(n for n in nodes if n.role == "worker")
    if not 1 <= len(masters) <= MAX_MASTERS:
        raise r.fail("nodes", f"needs 1 to {MAX_MASTERS} masters, has {len(masters)}")
    if len(workers) > MAX_WORKERS:
        raise r.fail("nodes", f"at most {MAX_WORKERS} workers, has {len(workers)}")
    asked = data.get("etcdMembers")
    if asked is not None:
        asked = r.integer(asked, "etcdMembers", 1, min(len(masters), MAX_ETCD_MEMBERS))
    mappings = [(p.listen_address, p.host_port, p.protocol) for n in nodes for p in n.port_mappings]
    if len(set(mappings)) != len(mappings):
        raise r.fail("nodes", "two extraPortMappings use the same host address, port and protocol")
    return ClusterSpec(masters, workers, _members(asked, len(masters), "etcdMembers"), name)
