"""`tug debug POD --image IMAGE [--target C] [-c NAME] [-i] [-t] [-- CMD...]`: a container
added to a running pod to look inside it, as `kubectl debug` adds one.

It is an ephemeral container (pods/ephemeralcontainers): it joins the pod's network and,
with `--target`, the PID namespace of that container, so `ps` shows the app's processes
and `ls /proc/1/root` its files, while the app keeps running untouched. The pod is read
and written back guarded by its resourceVersion, retried on a conflict with a writer that
came between. With `-i` the command waits (up to --timeout) until the kubelet reports the
container running and attaches to it, as `kubectl debug -i` does; without, it returns at
once with the container's name, for `tug logs POD -c NAME`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import string
from typing import Any

from cli.commands.nodeagent import relay, split_command
from cli.errors import CliError
from cli.invocation import Invocation
from cli.main import common_flags
from client import errors
from client.api import ApiClient
from client.flags import duration
from proto import core_pb2, nodeagent_pb2

CONFLICT_RETRIES = 5


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug debug`."""
    p = sub.add_parser("debug", parents=[common], help="add a debugging container to a running pod")
    p.add_argument("pod")
    _flags(p)
    # REMAINDER takes everything after the pod, flags included: run() reads the flags
    # given between the pod and `--` itself, as `tug exec` does.
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")
    p.set_defaults(func=run)


def _flags(p: argparse.ArgumentParser, *, after_pod: bool = False) -> None:
    """The command's flags: on its parser, and again for those given after the pod (unset
    there unless given, so they never override what came before the pod)."""
    unset: dict[str, Any] = {"default": None} if after_pod else {}
    p.add_argument("--image", help="the debugging container's image (required)", **unset)
    p.add_argument("--target", help="the container whose processes it sees", **unset)
    p.add_argument("-c", "--container", help="its name (default: debugger-XXXXX)", **unset)
    p.add_argument("-i", "--stdin", action="store_true", help="attach stdin", **unset)
    p.add_argument("-t", "--tty", action="store_true", help="allocate a terminal", **unset)
    p.add_argument(
        "--timeout",
        type=duration,
        default=None if after_pod else 60.0,
        help="how long -i waits for the container to run (default 60s)",
    )


_AFTER_POD = argparse.ArgumentParser(
    prog="tug debug", add_help=False, exit_on_error=False, parents=[common_flags()]
)
_flags(_AFTER_POD, after_pod=True)


def _name() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "debugger-" + "".join(secrets.choice(alphabet) for _ in range(5))


async def run(inv: Invocation) -> int:
    """Add the container; with -i, attach to it once it runs (its exit code)."""
    a = inv.args
    if "--" not in a.command:
        a.command = [*a.command, "--"]  # flags only: kubectl's command follows a `--`
    command = split_command(inv, _AFTER_POD, "tug debug")
    if not a.image:
        raise CliError("tug debug: --image is required: the debugging container's image")
    name = a.container or _name()
    namespace = inv.namespace()
    debugger = core_pb2.EphemeralContainer(
        name=name,
        image=a.image,
        command=command,
        stdin=a.stdin,
        stdin_once=a.stdin,
        tty=a.tty,
        termination_message_policy="File",
        target_container_name=a.target or "",
    )
    async with inv.client() as api:
        for _ in range(CONFLICT_RETRIES):
            pod = await api.get("pods", namespace, a.pod)
            assert isinstance(pod, core_pb2.Pod)
            pod.spec.ephemeral_containers.append(debugger)
            try:
                written = await api.update_ephemeral_containers(pod)
                break
            except errors.Conflict:
                continue
        else:
            raise CliError(f'pod "{a.pod}" kept changing; try again')
        if not a.container:
            inv.err(f"Defaulting debug container name to {name}.")
        if not a.stdin:
            return 0
        state = await _started(api, written, name, a.timeout)
    if state.HasField("terminated"):
        inv.err(f"container {name} has already exited; tug logs {a.pod} -c {name} shows it")
        return int(state.terminated.exit_code)
    start = nodeagent_pb2.ExecStart(
        namespace=namespace, pod=a.pod, container=name, stdin=True, tty=a.tty
    )
    return await relay(inv, start, attach=True)


async def _started(
    api: ApiClient, pod: core_pb2.Pod, name: str, timeout: float
) -> core_pb2.ContainerState:
    """The container's state once it runs or has run, watched from the write that added it;
    CliError naming the kubelet's reason when it does not within `timeout`."""
    last = ""
    try:
        async with asyncio.timeout(timeout):
            changes = api.watch(
                "pods",
                pod.metadata.namespace,
                resource_version=pod.metadata.resource_version,
                field_selector=f"metadata.name={pod.metadata.name}",
            )
            async for event in changes:
                if event.type == "DELETED":
                    raise CliError(f'pod "{pod.metadata.name}" was deleted')
                seen = event.object
                if event.type == "BOOKMARK" or not isinstance(seen, core_pb2.Pod):
                    continue
                for status in seen.status.ephemeral_container_statuses:
                    state = status.state
                    if status.name != name:
                        continue
                    if state.HasField("running") or state.HasField("terminated"):
                        return state
                    last = state.waiting.reason
                    if state.waiting.message:
                        last += f": {state.waiting.message}"
    except TimeoutError:
        pass
    why = f" (last: {last})" if last else ""
    raise CliError(f"container {name} did not start within {timeout:g}s{why}")
