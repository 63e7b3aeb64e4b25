"""`tug apply -f FILE|DIR|-`: create each object, or bring it to what the manifest says.

Each document is applied on its own: a bad one is reported with its file and index
and the others are still applied; the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import io
from typing import Any, cast

import structlog

from cli import sources
from cli.apply.merge import three_way
from cli.errors import CliError
from cli.invocation import Invocation
from client import codec, customkinds, errors
from client.api import ApiClient
from client.kinds import Kind, Object
from client.manifests import STDIN, Manifest, ManifestError

log = structlog.get_logger("tug.apply")

MAX_CONFLICT_RETRIES = 5


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug apply`."""
    p = sub.add_parser("apply", parents=[common], help="apply manifests to the cluster")
    p.add_argument("-f", "--filename", action="append", required=True, help="file, directory or -")
    p.set_defaults(func=run)


def target_namespace(inv: Invocation, kind: Kind, obj: Object) -> str:
    """The manifest's namespace, else `-n`, else the context's, else "default"."""
    if not kind.namespaced:
        return ""
    given = obj.metadata.namespace
    flag = inv.explicit_namespace()
    if given and flag and given != flag:
        raise CliError(
            f'the namespace from the provided object "{given}" does not match the '
            f"namespace \"{flag}\". You must pass '--namespace={given}' to perform this operation."
        )
    return given or inv.namespace()


def build(kind: Kind, data: dict[str, Any]) -> Object:
    """The message of `kind` for a dict."""
    return cast(Object, codec.from_dict(kind.message, data))


async def apply_one(api: ApiClient, kind: Kind, manifest: dict[str, Any], ns: str) -> str:
    """Create or update one object; returns "created", "configured" or "unchanged"."""
    name = manifest.get("metadata", {}).get("name", "")
    for _ in range(MAX_CONFLICT_RETRIES):
        try:
            live = await api.get(kind.resource, ns, name)
        except errors.NotFound:
            fresh = three_way({}, manifest)
            fresh.setdefault("metadata", {})["namespace"] = ns
            if not ns:
                fresh["metadata"].pop("namespace")
            try:
                await api.create(build(kind, fresh))
            except errors.AlreadyExists:
                continue  # created meanwhile by someone else: apply over it
            return "created"
        current = codec.to_dict(live)
        current.setdefault("apiVersion", kind.api_version)
        current.setdefault("kind", kind.kind)
        wanted = three_way(current, manifest)
        if wanted == current:
            return "unchanged"
        try:
            await api.update(build(kind, wanted))
        except errors.Conflict:
            log.info("apply conflict, retrying", key=f"{ns}/{name}", resource=kind.resource)
            continue
        return "configured"
    raise errors.Conflict(
        f'{kind.resource} "{name}": changed by others {MAX_CONFLICT_RETRIES} times during apply'
    )


def _unknown_kind(loaded: Manifest | ManifestError) -> bool:
    return isinstance(loaded, ManifestError) and loaded.detail.startswith("no matches for kind")


async def run(inv: Invocation) -> int:
    """Apply every document of every `-f` source."""
    failed = False
    # Read once: a custom kind may only be known after asking the server (below).
    stdin = io.StringIO(inv.stdin.read() if STDIN in inv.args.filename else "")
    loaded = sources.load(inv.args.filename, stdin)
    if not loaded:
        raise CliError("no objects passed to apply")
    if not any(isinstance(m, Manifest) or _unknown_kind(m) for m in loaded):
        for m in loaded:
            inv.err(f"error: {m}")
        return 1
    async with inv.client() as api:
        if any(_unknown_kind(m) for m in loaded):
            # Kinds the CRDs of the cluster serve, as kubectl finds them by discovery.
            await customkinds.load(api)
            stdin.seek(0)
            loaded = sources.load(inv.args.filename, stdin)
        later: list[int] = []
        for n, m in enumerate(loaded):
            if _unknown_kind(m):
                later.append(n)  # perhaps a kind a CRD of these very files defines
                continue
            failed = await _apply_loaded(inv, api, m) or failed
        if later:
            await customkinds.load(api)
            stdin.seek(0)
            again = sources.load(inv.args.filename, stdin)
            for n in later:
                failed = await _apply_loaded(inv, api, again[n]) or failed
    return 1 if failed else 0


async def _apply_loaded(inv: Invocation, api: ApiClient, m: Manifest | ManifestError) -> bool:
    """Apply one document; whether it failed (reported on stderr)."""
    if isinstance(m, ManifestError):
        inv.err(f"error: {m}")
        return True
    kind = m.kind
    try:
        ns = target_namespace(inv, kind, m.obj)
        if not m.obj.metadata.name:
            raise CliError(f"{m.where}: metadata.name: Required value: name is required")
        manifest = codec.to_dict(m.obj)
        manifest["apiVersion"] = kind.api_version
        manifest["kind"] = kind.kind
        result = await apply_one(api, kind, manifest, ns)
    except (errors.Invalid, errors.Conflict, errors.NotFound, errors.AlreadyExists) as e:
        inv.err(f"error: {m.where}: {e.message}")
        return True
    except errors.Unavailable:
        raise
    except errors.ApiError as e:
        inv.err(f"error: {m.where}: {e.reason}: {e.message}")
        return True
    except codec.FieldError as e:
        inv.err(f"error: {m.where}: {e}")
        return True
    except CliError as e:
        inv.err(f"error: {e}")
        return True
    inv.out(f"{kind.qualified}/{m.obj.metadata.name} {result}")
    return False
