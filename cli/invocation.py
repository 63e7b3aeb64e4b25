"""What one `tug` run works with: its arguments, its streams, its config and its client.

Commands receive an Invocation instead of reaching for sys.stdout or the environment,
so tests run the CLI in-process with their own streams.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from cli import config as configfile
from cli.errors import CliError

if TYPE_CHECKING:
    from client.api import ApiClient
    from client.tls import ClientCredentials

DEFAULT_SERVER = "127.0.0.1:6443"
"""Where the CLI looks when neither a flag nor a config names an API server."""


@dataclass
class Invocation:
    """One run of the CLI."""

    args: argparse.Namespace
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    _config: configfile.Config | None = None

    @property
    def config(self) -> configfile.Config:
        """The client config file, loaded on first use."""
        if self._config is None:
            self._config = configfile.load()
        return self._config

    def context(self) -> configfile.Context | None:
        """The context chosen by `--context`, else the config's current context."""
        return self.config.context(getattr(self.args, "context", "") or "")

    def endpoints(self) -> list[str]:
        """API servers from `--server`, else the context's cluster, else the default."""
        flag = getattr(self.args, "server", "") or ""
        if flag:
            servers = [s.strip() for s in flag.split(",") if s.strip()]
            if not servers:
                raise CliError("--server: expected host:port[,host:port...]")
            return [configfile._strip_scheme(s) for s in servers]
        ctx = self.context()
        if ctx is not None:
            configured = self.config.clusters.get(ctx.cluster)
            if not configured:
                raise CliError(
                    f'context "{ctx.name}" names cluster "{ctx.cluster}", '
                    f"which has no servers in {configfile.config_path()}"
                )
            return configured
        return [DEFAULT_SERVER]

    def namespace(self) -> str:
        """`-n`, else the context's namespace, else "default"."""
        flag = getattr(self.args, "namespace", "") or ""
        if flag:
            return str(flag)
        ctx = self.context()
        return (ctx.namespace if ctx else "") or "default"

    def explicit_namespace(self) -> str:
        """The namespace given with `-n` only ("" when not given)."""
        return str(getattr(self.args, "namespace", "") or "")

    def timeout(self) -> float:
        """The per-request timeout in seconds (`--request-timeout`, 0 = the client default)."""
        return float(getattr(self.args, "request_timeout", 0.0) or 0.0)

    def tls(self) -> ClientCredentials | None:
        """The context's CA and client certificate; None: plaintext."""
        from client.tls import ClientCredentials

        found = self.config.tls(self.context())
        return ClientCredentials(found[0], found[1], found[2]) if found is not None else None

    @asynccontextmanager
    async def client(self) -> AsyncIterator[ApiClient]:
        """One ApiClient for the whole run, closed at the end."""
        # Imported here: gRPC and the protos are most of `tug`'s start-up time, and
        # commands that never call an API server (config, version --client) skip them.
        from client.api import ApiClient, ClientOptions

        options = ClientOptions(
            user_agent="tug", token=self.config.token(self.context()), tls=self.tls()
        )
        if self.timeout():
            options.timeout = self.timeout()
        api = ApiClient(self.endpoints(), options)
        try:
            yield api
        finally:
            await api.close()

    def out(self, line: str = "") -> None:
        """One line on stdout."""
        self.stdout.write(line + "\n")

    def err(self, line: str) -> None:
        """One line on stderr."""
        self.stderr.write(line + "\n")
