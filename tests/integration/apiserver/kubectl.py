"""The real kubectl against an API server of this test: a kubeconfig and an async runner.

kubectl runs as a subprocess of the test's own event loop (the API server may be serving
in that loop), bounded in time; its output is returned, never asserted here.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from client.timeouts import within

KUBECTL = shutil.which("kubectl")


def write_kubeconfig(path: Path, server: str, *, token: str = "", ca: bytes = b"") -> Path:
    """A kubeconfig whose one context points at `server`: an http:// URL, or an https://
    one served with a certificate of the CA `ca` (PEM), where kubectl sends `token`
    (kubectl sends no token over plain HTTP)."""
    cluster: dict[str, str] = {"server": server}
    if ca:
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "tug", "cluster": cluster}],
        "users": [{"name": "tug", "user": {"token": token} if token else {}}],
        "contexts": [{"name": "tug", "context": {"cluster": "tug", "user": "tug"}}],
        "current-context": "tug",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class Ran:
    code: int
    out: str
    err: str


@dataclass
class Kubectl:
    """`kubectl --kubeconfig K ARGS` with its own cache directory (no state between tests)."""

    kubeconfig: Path
    cache: Path

    async def __call__(self, *args: str, stdin: str = "", timeout: float = 60) -> Ran:
        assert KUBECTL, "kubectl is not on the PATH"
        proc = await asyncio.create_subprocess_exec(
            KUBECTL,
            "--kubeconfig", str(self.kubeconfig),
            "--cache-dir", str(self.cache),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await within(proc.communicate(stdin.encode()), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(
                f"kubectl {' '.join(args)} did not finish in {timeout} s"
            ) from None
        return Ran(proc.returncode or 0, out.decode(), err.decode())

    async def ok(self, *args: str, stdin: str = "", timeout: float = 60) -> str:
        ran = await self(*args, stdin=stdin, timeout=timeout)
        assert ran.code == 0, f"kubectl {' '.join(args)} failed ({ran.code}):\n{ran.err}{ran.out}"
        return ran.out
