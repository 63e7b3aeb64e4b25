"""Ephemeral containers on the real Docker engine, added as `kubectl debug` adds them
(pods/ephemeralcontainers): one with a target sees the target's processes and the pod's
network, runs once and ends for good with its exit code while the pod stays Running and
Ready; one with stdin and stdinOnce takes a shell session through attach, and its stdin
closes when the attach ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import docker
import grpc
import pytest

from client.api import ApiClient
from client.errors import Conflict
from kubelet.runtime.interface import LABEL_CONTAINER_NAME, LABEL_NODE
from proto import core_pb2, nodeagent_pb2, nodeagent_pb2_grpc
from tests.integration.kubelet.pods import (
    IMAGE,
    condition,
    container,
    get_pod,
    pod,
    running,
    wait_for_pod,
)

pytestmark = pytest.mark.docker

FINDINGS = (
    "for f in /proc/[0-9]*/cmdline; do echo \"process: $(tr '\\0' ' ' < $f)\"; done; "
    "ip -4 -o addr; "
    "until [ -e /tmp/done ]; do sleep 0.1; done; exit 3"
)
"""What the debugger does: list the processes it sees and its addresses, then wait to be
told to end, and end with 3."""


@pytest.fixture
async def agent(kubelet) -> AsyncIterator[nodeagent_pb2_grpc.NodeAgentStub]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{kubelet.config.port}")
    try:
        yield nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
    finally:
        await channel.close(None)


def ephemeral(p: core_pb2.Pod, name: str) -> core_pb2.ContainerStatus:
    """The ephemeral container's status; an empty one when it has none yet."""
    for s in p.status.ephemeral_container_statuses:
        if s.name == name:
            return s
    return core_pb2.ContainerStatus()


def ready(p: core_pb2.Pod) -> bool:
    return running(p) and condition(p, "Ready") == "True"


async def debug(api: ApiClient, name: str, added: core_pb2.EphemeralContainer) -> None:
    """Add the ephemeral container as kubectl debug does, again on a Conflict with the
    kubelet's status writes."""
    for _ in range(10):
        p = await get_pod(api, name)
        p.spec.ephemeral_containers.append(added)
        try:
            await api.update_ephemeral_containers(p)
            return
        except Conflict:
            continue
    raise AssertionError("the ephemeral container could not be added: conflicts")


@contextlib.asynccontextmanager
async def pod_states(api: ApiClient, name: str, since: str) -> AsyncIterator[list[tuple[str, str]]]:
    """(phase, Ready) of every version of the pod written while the block runs."""
    seen: list[tuple[str, str]] = []

    async def watch() -> None:
        async for event in api.watch("pods", "default", resource_version=since):
            obj = event.object
            if isinstance(obj, core_pb2.Pod) and obj.metadata.name == name:
                seen.append((obj.status.phase, condition(obj, "Ready")))

    task = asyncio.create_task(watch())
    try:
        yield seen
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def engine_containers(node: str, name: str) -> list[dict[str, object]]:
    """The Docker containers of the node that carry the container name `name`."""
    client = docker.from_env()
    try:
        labels = [f"{LABEL_NODE}={node}", f"{LABEL_CONTAINER_NAME}={name}"]
        return list(client.api.containers(all=True, filters={"label": labels}))
    finally:
        client.close()


async def exec_in(
    agent: nodeagent_pb2_grpc.NodeAgentStub, pod_name: str, container_name: str, *command: str
) -> int:
    start = nodeagent_pb2.ExecStart(
        namespace="default", pod=pod_name, container=container_name, command=list(command)
    )

    async def inputs() -> AsyncIterator[nodeagent_pb2.ExecInput]:
        yield nodeagent_pb2.ExecInput(start=start)

    code = -1
    async for msg in agent.Exec(inputs()):
        if msg.WhichOneof("output") == "exit_code":
            code = msg.exit_code
    return code


async def logs_of(agent: nodeagent_pb2_grpc.NodeAgentStub, pod_name: str, name: str) -> str:
    request = nodeagent_pb2.LogsRequest(namespace="default", pod=pod_name, container=name)
    return b"".join([chunk.data async for chunk in agent.Logs(request)]).decode()


def state_of(name: str, check: Callable[[core_pb2.ContainerStatus], bool]) -> Callable[..., bool]:
    return lambda p: check(ephemeral(p, name))


async def test_a_debugger_runs_once_beside_its_target_seeing_its_processes_and_network(
    api, kubelet, node_name, agent
):
    await api.create(pod("debugged", node_name, container("app", "sleep", "3600")))
    before = await wait_for_pod(api, "debugged", ready, what="the app running and Ready")

    async with pod_states(api, "debugged", before.metadata.resource_version) as states:
        debugger = core_pb2.EphemeralContainer(
            name="debugger",
            image=IMAGE,
            command=["sh", "-c", FINDINGS],
            target_container_name="app",
        )
        await debug(api, "debugged", debugger)
        found = await wait_for_pod(
            api,
            "debugged",
            state_of("debugger", lambda s: s.state.HasField("running")),
            what="the debugger running",
        )
        st = ephemeral(found, "debugger")
        assert st.state.running.started_at and st.container_id.startswith("docker://")
        assert st.image == IMAGE and st.image_id and st.restart_count == 0

        assert await exec_in(agent, "debugged", "debugger", "touch", "/tmp/done") == 0
        ended = await wait_for_pod(
            api,
            "debugged",
            state_of("debugger", lambda s: s.state.HasField("terminated")),
            what="the debugger terminated",
        )
        term = ephemeral(ended, "debugger").state.terminated
        assert (term.exit_code, term.reason) == (3, "Error")

        output = await logs_of(agent, "debugged", "debugger")
        assert "process: sleep 3600 " in output.splitlines(), "it sees the app's process"
        assert f"inet {ended.status.pod_ip}/" in output, "it is on the pod's network"

        # A second one, added after the first ended: the syncs that start it are later
        # than the first one's end, and none of them started the first again.
        await debug(
            api,
            "debugged",
            core_pb2.EphemeralContainer(name="after", image=IMAGE, command=["true"]),
        )
        after = await wait_for_pod(
            api,
            "debugged",
            state_of("after", lambda s: s.state.HasField("terminated")),
            what="the second ephemeral container to run and end",
        )
        again = ephemeral(after, "debugger")
        assert again.state.terminated.exit_code == 3 and again.restart_count == 0
        assert len(engine_containers(node_name, "debugger")) == 1
        assert ready(after) and after.status.container_statuses[0].restart_count == 0

    assert states, "the pod's versions were watched"
    assert set(states) == {("Running", "True")}, "the pod stayed Running and Ready throughout"


async def test_an_attached_shell_in_an_ephemeral_container_ends_when_the_attach_closes_its_stdin(
    api, kubelet, node_name, agent
):
    await api.create(pod("attached", node_name, container("app", "sleep", "3600")))
    await wait_for_pod(api, "attached", ready, what="the app running and Ready")
    shell = core_pb2.EphemeralContainer(
        name="shell", image=IMAGE, command=["sh"], stdin=True, stdin_once=True
    )
    await debug(api, "attached", shell)
    await wait_for_pod(
        api,
        "attached",
        state_of("shell", lambda s: s.state.HasField("running")),
        what="the shell running",
    )

    async def session() -> AsyncIterator[nodeagent_pb2.ExecInput]:
        start = nodeagent_pb2.ExecStart(
            namespace="default", pod="attached", container="shell", stdin=True
        )
        yield nodeagent_pb2.ExecInput(start=start)
        yield nodeagent_pb2.ExecInput(stdin=b"echo answer-$((6 * 7))\n")
        yield nodeagent_pb2.ExecInput(close_stdin=True)

    out, code = b"", None
    async with asyncio.timeout(30):
        async for msg in agent.Attach(session()):
            if msg.WhichOneof("output") == "stdout":
                out += msg.stdout
            elif msg.WhichOneof("output") == "exit_code":
                code = msg.exit_code
    # StdinOnce: the end of the attach's input closed the shell's stdin, and it exited.
    assert out == b"answer-42\n" and code == 0
    ended = await wait_for_pod(
        api,
        "attached",
        state_of("shell", lambda s: s.state.HasField("terminated")),
        what="the shell terminated",
    )
    assert ephemeral(ended, "shell").state.terminated.exit_code == 0
    assert ready(ended)
