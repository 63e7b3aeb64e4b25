"""The state file of a local cluster: what was started, so `tug down` can stop exactly it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cli.cluster.layout import Layout
from cli.cluster.processes import Record
from cli.errors import CliError


@dataclass
class State:
    """The cluster's parameters and every process started for it, in start order."""

    name: str
    base_port: int
    masters: int
    processes: list[Record] = field(default_factory=list)
    driver: str = "process"
    """"process" (daemons on loopback, recorded by PID) or "docker" (node containers,
    found by the cluster's label)."""

    def to_dict(self) -> dict[str, Any]:
        """The file's JSON shape."""
        return {
            "name": self.name,
            "base_port": self.base_port,
            "masters": self.masters,
            "processes": [p.to_dict() for p in self.processes],
            "driver": self.driver,
        }


def load(layout: Layout) -> State | None:
    """The recorded state, or None when the cluster was never started (or was stopped)."""
    path = layout.state_file
    try:
        data = json.loads(path.read_text())
        return State(
            name=str(data["name"]),
            base_port=int(data["base_port"]),
            masters=int(data["masters"]),
            processes=[Record.from_dict(p) for p in data.get("processes", [])],
            driver=str(data.get("driver", "process")),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CliError(f"{path}: unreadable cluster state ({e}); remove it by hand") from None


def save(layout: Layout, state: State) -> None:
    """Write the state atomically: it is rewritten after every process started."""
    path = layout.state_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state.to_dict(), indent=2) + "\n")
    tmp.replace(path)


def remove(layout: Layout) -> None:
    """Forget the cluster's processes (after they are stopped)."""
    layout.state_file.unlink(missing_ok=True)
