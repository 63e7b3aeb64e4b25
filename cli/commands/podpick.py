"""Which pods `tug logs` means: a pod's name, `KIND/NAME` of a workload, or `-l SELECTOR`.

As kubectl: `deploy/web` (or `deployment/web`, `rs/...`, `rc/...`, `ds/...`, `sts/...`,
`job/...`, `svc/...`) means one pod the workload selects, the one kubectl would pick for
logs: scheduled before not, running before not, ready before not, then the oldest;
`-l app=web` means every matching pod, by name.
"""

from __future__ import annotations

from typing import Any

from cli.errors import CliError
from cli.invocation import Invocation
from client.kinds import UnknownKindError, resolve
from client.selectors import format_selector
from proto import core_pb2

WORKLOADS = (
    "deployments",
    "replicasets",
    "replicationcontrollers",
    "daemonsets",
    "statefulsets",
    "jobs",
    "services",
    "pods",
)


def _selector_of(obj: Any) -> str:
    # A Service's selector is a label map, a workload's a LabelSelector: both format.
    return format_selector(obj.spec.selector)


def _ready(pod: core_pb2.Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def _for_logs(pod: core_pb2.Pod) -> tuple[bool, bool, bool, str]:
    return (
        not pod.spec.node_name,
        pod.status.phase != "Running",
        not _ready(pod),
        pod.metadata.creation_timestamp,
    )


async def pods_for(inv: Invocation, target: str, selector: str) -> list[str]:
    """The names of the pods meant (at least one, else CliError saying why)."""
    namespace = inv.namespace()
    async with inv.client() as api:
        if selector:
            listed = await api.list("pods", namespace, label_selector=selector)
            names = sorted(p.metadata.name for p in listed.items)
            if not names:
                raise CliError(f'no pods in namespace "{namespace}" match -l {selector}')
            return names
        if not target:
            raise CliError("a pod, TYPE/NAME or -l SELECTOR is required")
        kind_name, slash, name = target.partition("/")
        if not slash:
            return [target]
        try:
            kind = resolve(kind_name)
        except UnknownKindError as e:
            raise CliError(str(e)) from None
        if kind.resource not in WORKLOADS:
            raise CliError(f"{kind.resource}: cannot pick pods of this kind (use a pod or -l)")
        if kind.resource == "pods":
            return [name]
        obj = await api.get(kind.resource, namespace, name)
        wanted = _selector_of(obj)
        if not wanted:
            raise CliError(f"{kind.qualified}/{name} selects no pods (its selector is empty)")
        listed = await api.list("pods", namespace, label_selector=wanted)
        pods = [p for p in listed.items if isinstance(p, core_pb2.Pod)]
        if not pods:
            raise CliError(f"no pods of {kind.qualified}/{name} (selector {wanted})")
        return [min(pods, key=_for_logs).metadata.name]
