"""`tug logs` and `tug exec`: the node-agent service, reached through an API server.

The API server relays both to the kubelet that runs the pod, so the CLI never needs a
node's address. `tug exec` exits with the command's own exit code, as kubectl does.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from cli.commands.podpick import pods_for
from cli.errors import CliError
from cli.invocation import Invocation
from client.credentials import token_interceptors
from client.errors import from_grpc
from client.tls import dial
from proto import nodeagent_pb2, nodeagent_pb2_grpc

T = TypeVar("T")
_STDIN_CHUNK = 32 * 1024


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug logs` and `tug exec`."""
    lg = sub.add_parser("logs", parents=[common], help="print a container's logs")
    lg.add_argument("pod", nargs="?", default="", help="POD, or TYPE/NAME (deploy/web)")
    lg.add_argument("-l", "--selector", default="", help="every pod matching this selector")
    lg.add_argument("--prefix", action="store_true", help="prefix lines with pod/NAME")
    lg.add_argument("-c", "--container", default="")
    lg.add_argument("-f", "--follow", action="store_true", help="stream new lines")
    lg.add_argument("--tail", type=int, default=-1, help="lines from the end (-1: all)")
    lg.add_argument("-p", "--previous", action="store_true", help="the previous instance")
    lg.add_argument("--timestamps", action="store_true")
    lg.set_defaults(func=logs)
    ex = sub.add_parser("exec", parents=[common], help="run a command in a container")
    ex.add_argument("pod")
    ex.add_argument("-c", "--container", default="")
    ex.add_argument("-i", "--stdin", action="store_true", help="pass stdin to the command")
    ex.add_argument("-t", "--tty", action="store_true", help="allocate a terminal")
    # REMAINDER takes everything after the pod, flags included: exec_command reads the
    # flags given between the pod and `--` itself (see _AFTER_POD).
    ex.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...]")
    ex.set_defaults(func=exec_command)


async def on_some_server(
    inv: Invocation, call: Callable[[Any], Awaitable[T]], stub: Callable[[Any], Any] | None = None
) -> T:
    """Run `call` with a stub (the NodeAgent's unless `stub` makes another) on the first API
    server that answers, with the caller's token; errors become ApiErrors."""
    make = stub or nodeagent_pb2_grpc.NodeAgentStub
    last: grpc.aio.AioRpcError | None = None
    for endpoint in inv.endpoints():
        token = inv.config.token(inv.context())
        async with dial(endpoint, inv.tls(), interceptors=token_interceptors(token)) as channel:
            try:
                return await call(make(channel))
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise from_grpc(e) from None
                last = e
    assert last is not None
    raise from_grpc(last)


async def logs(inv: Invocation) -> int:
    """Write the container's output to stdout; with -f, until interrupted or it stops."""
    a = inv.args
    if a.selector and a.pod:
        raise CliError("-l: give a selector or a pod, not both")
    names = await pods_for(inv, a.pod, a.selector)
    if len(names) > 1 and a.follow:
        raise CliError("-f: follows one pod; pick one (or drop -l)")
    for name in names:
        await _logs_of(inv, name, prefix=f"[pod/{name}] " if a.prefix else "")
    return 0


async def _logs_of(inv: Invocation, pod: str, prefix: str) -> int:
    a = inv.args
    request = nodeagent_pb2.LogsRequest(
        namespace=inv.namespace(),
        pod=pod,
        container=a.container,
        follow=a.follow,
        previous=a.previous,
        timestamps=a.timestamps,
    )
    if a.tail >= 0:
        request.tail_lines = a.tail
    out = getattr(inv.stdout, "buffer", None)

    async def stream(stub: nodeagent_pb2_grpc.NodeAgentStub) -> int:
        async for chunk in stub.Logs(request):
            if prefix:
                lines = chunk.data.decode(errors="replace").splitlines(keepends=True)
                inv.stdout.write("".join(prefix + line for line in lines))
                inv.stdout.flush()
            elif out is not None:
                out.write(chunk.data)
                out.flush()
            else:
                inv.stdout.write(chunk.data.decode(errors="replace"))
                inv.stdout.flush()
        return 0

    return await on_some_server(inv, stream)


async def _stdin_chunks(inv: Invocation) -> AsyncIterator[bytes]:
    source = getattr(inv.stdin, "buffer", None)
    for _ in range(1 << 30):  # bounded by end of input in practice
        if source is not None:
            data = await asyncio.to_thread(source.read1, _STDIN_CHUNK)
        else:
            data = (await asyncio.to_thread(inv.stdin.read, _STDIN_CHUNK)).encode()
        if not data:
            return
        yield data


_AFTER_POD = argparse.ArgumentParser(prog="tug exec", add_help=False, exit_on_error=False)
"""The flags `tug exec POD [FLAGS] -- CMD` takes after the pod, as kubectl does; argparse's
REMAINDER would otherwise run them as the command (`exec web -c app -- ls` ran "-c")."""
_AFTER_POD.add_argument("-c", "--container")
_AFTER_POD.add_argument("-n", "--namespace")
_AFTER_POD.add_argument("-i", "--stdin", action="store_true", default=None)
_AFTER_POD.add_argument("-t", "--tty", action="store_true", default=None)


def split_command(
    inv: Invocation, after_pod: argparse.ArgumentParser = _AFTER_POD, prog: str = "tug exec"
) -> list[str]:
    """The command after `--`, with the flags between the pod and `--` (those `after_pod`
    knows) applied to inv.args."""
    command = list(inv.args.command)
    if command[:1] == ["--"]:
        return command[1:]
    if "--" not in command or not command[0].startswith("-"):
        return command  # no flags after the pod: all of it is the command
    cut = command.index("--")
    try:
        given, unknown = after_pod.parse_known_args(command[:cut])
    except argparse.ArgumentError as e:
        raise CliError(f"{prog}: {e}") from None
    if unknown:
        raise CliError(f"{prog}: unknown flag {unknown[0]!r} before --: see {prog} --help")
    for name, value in vars(given).items():
        if value is not None:
            setattr(inv.args, name, value)
    return command[cut + 1 :]


async def exec_command(inv: Invocation) -> int:
    """Run the command; the exit code is the command's."""
    a = inv.args
    command = split_command(inv)
    if not command:
        raise CliError(
            "you must specify at least one command for the container: tug exec POD -- CMD"
        )
    start = nodeagent_pb2.ExecStart(
        namespace=inv.namespace(),
        pod=a.pod,
        container=a.container,
        command=command,
        stdin=a.stdin,
        tty=a.tty,
    )
    return await relay(inv, start, attach=False)


async def relay(inv: Invocation, start: nodeagent_pb2.ExecStart, *, attach: bool) -> int:
    """An exec (or an attach to the container's own process) through the node agent: this
    process's stdin in when asked, the output out as it comes; the exit code."""

    async def inputs() -> AsyncIterator[nodeagent_pb2.ExecInput]:
        # The end of this stream closes the command's stdin, so without -i only `start`
        # is sent: a second message racing a refusal (no such pod, a stopped container)
        # made gRPC report "Internal error from Core" instead of the server's reason.
        yield nodeagent_pb2.ExecInput(start=start)
        if start.stdin:
            async for data in _stdin_chunks(inv):
                yield nodeagent_pb2.ExecInput(stdin=data)

    out = getattr(inv.stdout, "buffer", None)
    err = getattr(inv.stderr, "buffer", None)

    def write(data: bytes, stream: Any, binary: Any) -> None:
        if binary is not None:
            binary.write(data)
            binary.flush()
        else:
            stream.write(data.decode(errors="replace"))
            stream.flush()

    async def run(stub: nodeagent_pb2_grpc.NodeAgentStub) -> int:
        code = 1
        call = stub.Attach if attach else stub.Exec
        async for msg in call(inputs()):
            which = msg.WhichOneof("output")
            if which == "stdout":
                write(msg.stdout, inv.stdout, out)
            elif which == "stderr":
                write(msg.stderr, inv.stderr, err)
            elif which == "exit_code":
                code = msg.exit_code
        return code

    return await on_some_server(inv, run)
