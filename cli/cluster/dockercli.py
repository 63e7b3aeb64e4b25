"""The Docker CLI, run from `tug`: what the docker driver does to the host's engine.

kind drives the engine through its command line, and so does this driver: every action
is a `docker ...` a user could type to see or undo what `tug` did. Each call is bounded
in time, and a failure becomes a CliError carrying the command and Docker's own words.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from pathlib import Path

from cli.errors import CliError
from client.timeouts import within

DEFAULT_TIMEOUT = 120.0


def docker_binary() -> str:
    found = shutil.which("docker")
    if found is None:
        raise CliError("docker not found on PATH: the docker driver needs the Docker engine")
    return found


async def docker(
    *args: str,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    stdin_file: Path | None = None,
) -> tuple[int, str]:
    """Run `docker ARGS`: (exit code, stdout). CliError on failure when `check`."""
    stdin = stdin_file.open("rb") if stdin_file is not None else asyncio.subprocess.DEVNULL
    try:
        proc = await asyncio.create_subprocess_exec(
            docker_binary(),
            *args,
            stdin=stdin,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await within(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise CliError(f"docker {_shown(args)}: no answer within {timeout:g} s") from None
    finally:
        if stdin_file is not None and not isinstance(stdin, int):
            stdin.close()
    code = proc.returncode if proc.returncode is not None else -1
    if check and code != 0:
        raise CliError(f"docker {_shown(args)}: {err.decode(errors='replace').strip()}")
    return code, out.decode(errors="replace")


def _shown(args: Sequence[str]) -> str:
    text = " ".join(args)
    return text if len(text) < 200 else text[:197] + "..."
