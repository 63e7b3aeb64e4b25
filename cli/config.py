"""The client configuration: which API servers a context points at, in kubeconfig's shape.

The file lives at `$TUGCONFIG`, else `$TUG_HOME/config`, else `~/.tug/config`:

    clusters: [{name: local, cluster: {servers: ["127.0.0.1:6443"],
                                       certificate-authority-data: <base64 PEM>}}]
    users: [{name: local-admin, user: {client-certificate-data: ..., client-key-data: ...}}]
    contexts: [{name: local, context: {cluster: local, user: local-admin}}]
    current-context: local

A cluster with a CA is spoken to over TLS; a user has a token, a client certificate, or
both, each as a kubeconfig gives it: inline (`*-data`, base64) or as a file path, relative
to the config file's folder.

Kept as plain dataclasses so `tug up` can add its cluster and `tug down` remove it
without disturbing anything else in the file.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cli.errors import CliError


def tug_home() -> Path:
    """`$TUG_HOME`, else `~/.tug`: the root of local clusters and the default config."""
    env = os.environ.get("TUG_HOME")
    return Path(env) if env else Path.home() / ".tug"


def config_path() -> Path:
    """`$TUGCONFIG`, else the config file under tug_home()."""
    env = os.environ.get("TUGCONFIG")
    return Path(env) if env else tug_home() / "config"


@dataclass
class Context:
    """A named pair of cluster and default namespace."""

    name: str
    cluster: str
    namespace: str = ""
    user: str = ""
    """The entry of `users` whose credentials requests carry ("" : none)."""


@dataclass
class Config:
    """The whole client configuration file."""

    clusters: dict[str, list[str]] = field(default_factory=dict)
    """Cluster name -> API server endpoints ("host:port")."""
    contexts: dict[str, Context] = field(default_factory=dict)
    current_context: str = ""
    users: dict[str, str] = field(default_factory=dict)
    """User name -> bearer token, as a kubeconfig's `users[].user.token`."""
    authorities: dict[str, bytes] = field(default_factory=dict)
    """Cluster name -> PEM of its CA (`certificate-authority-data`); absent: plaintext."""
    certificates: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    """User name -> (PEM client certificate, PEM key) (`client-certificate-data`, ...)."""

    def token(self, context: Context | None) -> str:
        """The bearer token of a context's user ("" when it has none)."""
        return self.users.get(context.user, "") if context is not None and context.user else ""

    def tls(self, context: Context | None) -> tuple[bytes, bytes | None, bytes | None] | None:
        """(CA, client certificate, key) of a context's cluster and user; None: plaintext."""
        if context is None or context.cluster not in self.authorities:
            return None
        cert, key = self.certificates.get(context.user, (None, None))
        return self.authorities[context.cluster], cert, key

    def context(self, name: str = "") -> Context | None:
        """The named context, else the current one; None when there is none."""
        wanted = name or self.current_context
        if not wanted:
            return None
        found = self.contexts.get(wanted)
        if found is None and name:
            raise CliError(f'context "{name}" does not exist')
        return found

    def to_dict(self) -> dict[str, Any]:
        """The file's YAML shape."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": n, "cluster": {"servers": list(s), **self._authority(n)}}
                for n, s in self.clusters.items()
            ],
            "contexts": [
                {
                    "name": c.name,
                    "context": {
                        "cluster": c.cluster,
                        "namespace": c.namespace or "default",
                        **({"user": c.user} if c.user else {}),
                    },
                }
                for c in self.contexts.values()
            ],
            **(
                {"users": [{"name": n, "user": self._user(n)} for n in self._user_names()]}
                if self.users or self.certificates
                else {}
            ),
            "current-context": self.current_context,
        }

    def _authority(self, cluster: str) -> dict[str, str]:
        ca = self.authorities.get(cluster)
        return {"certificate-authority-data": _b64(ca)} if ca else {}

    def _user_names(self) -> list[str]:
        return list(dict.fromkeys([*self.users, *self.certificates]))

    def _user(self, name: str) -> dict[str, str]:
        user: dict[str, str] = {}
        if self.users.get(name):
            user["token"] = self.users[name]
        if name in self.certificates:
            cert, key = self.certificates[name]
            user["client-certificate-data"], user["client-key-data"] = _b64(cert), _b64(key)
        return user


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pem(entry: dict[str, Any], field_name: str, where: str, path: Path) -> bytes | None:
    """A kubeconfig PEM field: inline as `<field>-data` (base64), or `<field>` a file."""
    data = entry.get(f"{field_name}-data")
    if data is not None:
        if not isinstance(data, str):
            raise CliError(f"{path}: {where}.{field_name}-data: expected base64 text")
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise CliError(f"{path}: {where}.{field_name}-data: not valid base64") from None
    file = entry.get(field_name)
    if file is None:
        return None
    if not isinstance(file, str) or not file:
        raise CliError(f"{path}: {where}.{field_name}: expected a file path")
    try:
        return (path.parent / file).read_bytes()
    except OSError as e:
        raise CliError(f"{path}: {where}.{field_name}: {file}: {e.strerror}") from None


def _expect(value: object, kind: type, where: str, path: Path) -> Any:
    if not isinstance(value, kind):
        raise CliError(f"{path}: {where}: expected {'a list' if kind is list else 'an object'}")
    return value


def _entries(
    doc: dict[str, Any], section: str, body: str, path: Path
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each named entry of `section` (clusters, contexts, users), checked in turn.

    Yields its name, its `body` object (cluster, context, user) and where that body is,
    for error messages. Every kubeconfig list has this shape, so one place checks it.
    """
    for i, entry in enumerate(_expect(doc.get(section) or [], list, section, path)):
        entry = _expect(entry, dict, f"{section}[{i}]", path)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise CliError(f"{path}: {section}[{i}].name: required")
        where = f"{section}[{i}].{body}"
        yield name, _expect(entry.get(body) or {}, dict, where, path), where


def parse(data: object, path: Path) -> Config:
    """A Config from the loaded YAML; errors name the file and the field."""
    if data is None:
        return Config()
    doc = _expect(data, dict, "top level", path)
    cfg = Config()
    for name, cluster, where in _entries(doc, "clusters", "cluster", path):
        servers = cluster.get("servers")
        if servers is None and isinstance(cluster.get("server"), str):
            servers = [cluster["server"]]
        servers = _expect(servers or [], list, f"{where}.servers", path)
        if not all(isinstance(s, str) and s for s in servers):
            raise CliError(f"{path}: {where}.servers: expected host:port strings")
        cfg.clusters[name] = [_strip_scheme(s) for s in servers]
        ca = _pem(cluster, "certificate-authority", where, path)
        if ca is not None:
            cfg.authorities[name] = ca
    for name, ctx, _ in _entries(doc, "contexts", "context", path):
        cfg.contexts[name] = Context(
            name,
            str(ctx.get("cluster") or ""),
            str(ctx.get("namespace") or ""),
            str(ctx.get("user") or ""),
        )
    for name, user, where in _entries(doc, "users", "user", path):
        token = user.get("token", "")
        if not isinstance(token, str):
            raise CliError(f"{path}: {where}.token: expected a string")
        if token:
            cfg.users[name] = token
        cert = _pem(user, "client-certificate", where, path)
        key = _pem(user, "client-key", where, path)
        if (cert is None) != (key is None):
            missing = "client-key" if key is None else "client-certificate"
            raise CliError(f"{path}: {where}.{missing}: required with the other (-data)")
        if cert is not None and key is not None:
            cfg.certificates[name] = (cert, key)
    current = doc.get("current-context") or ""
    if not isinstance(current, str):
        raise CliError(f"{path}: current-context: expected a string")
    cfg.current_context = current
    return cfg


def _strip_scheme(server: str) -> str:
    for scheme in ("https://", "http://", "grpc://"):
        if server.startswith(scheme):
            return server[len(scheme) :].rstrip("/")
    return server


def load(path: Path | None = None) -> Config:
    """The config at `path` (default config_path()); a missing file is an empty config."""
    path = path or config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Config()
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CliError(f"{path}: invalid YAML: {e}") from None
    return parse(data, path)


def save(cfg: Config, path: Path | None = None) -> None:
    """Write the config atomically (a reader never sees half a file)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    tmp.chmod(0o600)  # users' tokens are in it, as in a kubeconfig
    tmp.replace(path)
