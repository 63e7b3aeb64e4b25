"""Running a host tool (nft, ip, iptables) as a subprocess, with a bounded wait.

The proxy and the kubelet program the host's network through command-line tools. A
tool that hangs (a wedged netlink socket, a lock another process holds) must not hang
the sync loop that called it, so every run has a deadline, and a run that misses it is
killed and reaped (no zombie left behind) before the caller hears of it. The caller
names the exception to raise, so that its own callers keep catching the error of their
module (NftError, RouteError) whatever the tool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from client.timeouts import within

__all__ = ["run"]


async def run(
    argv: Sequence[str],
    *,
    timeout: float,
    error: Callable[[str], Exception],
    what: str = "",
    stdin: str | None = None,
    check: bool = True,
) -> str:
    """The standard output of `argv`, run with `stdin` as its input (None: no input).

    Raises `error(message)` when the command does not end within `timeout` seconds, or
    (with `check`) exits non-zero, the message holding its error output. `what` names
    the command in messages; by default, `argv` itself.
    """
    what = what or " ".join(argv)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await within(
            proc.communicate(stdin.encode() if stdin is not None else None), timeout
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise error(f"{what}: no answer in {timeout} s") from None
    if check and proc.returncode != 0:
        raise error(f"{what}: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")
