"""The node-agent gRPC service: logs (follow, tail, previous) and exec with exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from proto import nodeagent_pb2, nodeagent_pb2_grpc
from tests.integration.kubelet.pods import container, pod, running, status_of, wait_for_pod
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


@pytest.fixture
async def agent_stub(kubelet):
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{kubelet.config.port}")
    try:
        yield nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
    finally:
        await channel.close(None)


async def test_logs_follow_streams_new_lines_as_they_are_written(
    api, kubelet, node_name, agent_stub
):
    script = "i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); sleep 0.2; done; sleep 3600"
    await api.create(pod("talker", node_name, container("main", "sh", "-c", script)))
    await wait_for_pod(api, "talker", running)
    call = agent_stub.Logs(
        nodeagent_pb2.LogsRequest(namespace="default", pod="talker", follow=True)
    )
    seen = b""
    try:
        async with asyncio.timeout(20):
            async for chunk in call:
                seen += chunk.data
                if b"line-8\n" in seen:
                    break
    finally:
        call.cancel()
    # Lines arrive while the container keeps writing: the stream was live, not a snapshot.
    assert b"line-0\n" in seen and b"line-8\n" in seen

    tail = agent_stub.Logs(
        nodeagent_pb2.LogsRequest(namespace="default", pod="talker", tail_lines=1)
    )
    lines = b"".join([c.data async for c in tail]).splitlines()
    assert len(lines) == 1 and lines[0].startswith(b"line-")


async def exec_in(stub, pod_name: str, command: list[str], stdin: bytes | None = None):
    async def inputs() -> AsyncIterator[nodeagent_pb2.ExecInput]:
        start = nodeagent_pb2.ExecStart(
            namespace="default", pod=pod_name, command=command, stdin=stdin is not None
        )
        yield nodeagent_pb2.ExecInput(start=start)
        if stdin is not None:
            yield nodeagent_pb2.ExecInput(stdin=stdin)
            yield nodeagent_pb2.ExecInput(close_stdin=True)

    out, err, code = b"", b"", None
    async for msg in stub.Exec(inputs()):
        which = msg.WhichOneof("output")
        if which == "stdout":
            out += msg.stdout
        elif which == "stderr":
            err += msg.stderr
        else:
            code = msg.exit_code
    return out, err, code


async def test_exec_returns_output_and_the_commands_exit_code(api, kubelet, node_name, agent_stub):
    await api.create(pod("shell", node_name, container("main", "sleep", "3600")))
    await wait_for_pod(api, "shell", running)
    assert await exec_in(agent_stub, "shell", ["sh", "-c", "exit 3"]) == (b"", b"", 3)
    out, err, code = await exec_in(agent_stub, "shell", ["sh", "-c", "echo out; echo err >&2"])
    assert (out, err, code) == (b"out\n", b"err\n", 0)
    out, _, code = await exec_in(agent_stub, "shell", ["cat"], stdin=b"piped in\n")
    assert (out, code) == (b"piped in\n", 0)


async def test_previous_logs_come_from_the_last_terminated_instance(
    api, kubelet, node_name, agent_stub
):
    c = container("main", "sh", "-c", "echo run-$(date +%s%N); exit 1")
    await api.create(pod("flaky", node_name, c))
    await wait_for_pod(api, "flaky", lambda p: status_of(p, "main").restart_count >= 1)
    req = nodeagent_pb2.LogsRequest(namespace="default", pod="flaky", previous=True)
    previous = b"".join([c.data async for c in agent_stub.Logs(req)])
    assert previous.startswith(b"run-")


async def test_unknown_pods_are_not_found_and_health_is_served(kubelet, agent_stub):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in agent_stub.Logs(nodeagent_pb2.LogsRequest(namespace="default", pod="nope")):
            pass
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    async with grpc.aio.insecure_channel(f"127.0.0.1:{kubelet.config.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_the_api_server_proxies_logs_and_exec_to_the_pods_kubelet(
    api, apiserver, kubelet, node_name
):
    script = "echo first; sleep 1; echo second; exec sleep 3600"
    await api.create(pod("proxied", node_name, container("main", "sh", "-c", script)))
    await wait_for_pod(api, "proxied", running)
    async with grpc.aio.insecure_channel(apiserver.endpoint) as channel:
        stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
        assert await exec_in(stub, "proxied", ["sh", "-c", "exit 3"]) == (b"", b"", 3)
        req = nodeagent_pb2.LogsRequest(namespace="default", pod="proxied", follow=True)
        call = stub.Logs(req)
        seen = b""
        try:
            async with asyncio.timeout(20):
                async for chunk in call:
                    seen += chunk.data
                    if b"second\n" in seen:
                        break
        finally:
            call.cancel()
        assert seen == b"first\nsecond\n"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await exec_in(stub, "absent", ["true"])
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_tug_exec_exits_with_the_commands_code_and_tug_logs_follows(
    api, apiserver, kubelet, node_name
):
    from cli.main import run

    script = "i=0; while [ $i -lt 300 ]; do echo tick-$i; i=$((i+1)); sleep 0.1; done; sleep 3600"
    await api.create(pod("clip", node_name, container("main", "sh", "-c", script)))
    await wait_for_pod(api, "clip", running)
    server = ["-s", apiserver.endpoint]
    out, err = io.StringIO(), io.StringIO()
    code = await run(
        [*server, "exec", "clip", "--", "sh", "-c", "echo hi; exit 3"], stdout=out, stderr=err
    )
    assert (code, out.getvalue()) == (3, "hi\n"), err.getvalue()

    followed = io.StringIO()
    task = asyncio.create_task(run([*server, "logs", "clip", "-f"], stdout=followed))
    try:
        await eventually(lambda: followed.getvalue().count("\n") >= 3, what="first lines")
        first = followed.getvalue()
        # New lines keep arriving after the first read: the stream follows the container.
        await eventually(lambda: len(followed.getvalue()) > len(first), what="more lines")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert followed.getvalue().startswith("tick-0\ntick-1\n")

    code = await run([*server, "logs", "nope"], stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert code == 1 and "not found" in err.getvalue()


async def forward(stub: Any, pod: str, port: int, sent: bytes) -> bytes:
    async def requests() -> AsyncIterator[nodeagent_pb2.PortForwardInput]:
        start = nodeagent_pb2.PortForwardStart(namespace="default", pod=pod, port=port)
        yield nodeagent_pb2.PortForwardInput(start=start)
        yield nodeagent_pb2.PortForwardInput(data=sent)
        # The end of the requests is a half-close: the pod still answers after it.

    return b"".join([out.data async for out in stub.PortForward(requests())])


async def test_port_forward_relays_a_connection_to_the_pods_port_and_refusals_are_unavailable(
    api, kubelet, node_name, agent_stub
):
    server = container("main", "sh", "-c", "echo pong | nc -l -p 7000 && sleep 3600")
    await api.create(pod("listener", node_name, server))
    await wait_for_pod(api, "listener", running)

    async def answered() -> bool:
        try:
            return await forward(agent_stub, "listener", 7000, b"ping\n") == b"pong\n"
        except grpc.aio.AioRpcError:
            return False  # nc is not listening yet

    await eventually(answered, timeout=30, what="pong through the forwarded port")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await forward(agent_stub, "listener", 7001, b"x")
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "error forwarding port 7001 to pod default/listener" in str(refused.value.details())
