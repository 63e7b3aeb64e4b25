"""Reading what a command is about: `KIND NAME...`, `KIND/NAME...`, `kind1,kind2`, `all`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from cli.errors import CliError
from client import customkinds, kinds
from client.kinds import Kind

ALL = (
    "pods",
    "services",
    "daemonsets",
    "deployments",
    "replicasets",
    "statefulsets",
    "horizontalpodautoscalers",
    "jobs",
    "cronjobs",
)
"""What `tug get all` shows, in kubectl's order."""


@dataclass(frozen=True)
class Target:
    """One kind and the names asked for (none: every object of the kind)."""

    kind: Kind
    names: tuple[str, ...] = ()


def _resolve(name: str) -> Kind:
    try:
        return kinds.resolve(name)
    except kinds.UnknownKindError as e:
        raise CliError(str(e)) from None


async def parse_learning(
    words: list[str], client: Callable[[], AbstractAsyncContextManager[Any]]
) -> tuple[list[Target], bool]:
    """parse(); a name it does not know may be a custom kind: then learn the cluster's
    (from its CRDs, as kubectl from discovery) and parse again."""
    try:
        return parse(words)
    except CliError:
        if not words:
            raise
    async with client() as api:
        await customkinds.load(api)
    return parse(words)


def parse(words: list[str]) -> tuple[list[Target], bool]:
    """The targets, and whether names must carry their kind (several kinds, `all`, `k/n`)."""
    if not words:
        raise CliError(
            'you must specify the type of resource to get. Use "tug api-resources" '
            "for a complete list of supported resources"
        )
    if "/" in words[0]:
        order: list[Kind] = []
        names: dict[str, list[str]] = {}
        for word in words:
            kind_name, sep, name = word.partition("/")
            if not sep or not name:
                raise CliError(
                    "arguments in resource/name form must have a single resource and name: "
                    f'"{word}"'
                )
            kind = _resolve(kind_name)
            if kind.resource not in names:
                order.append(kind)
                names[kind.resource] = []
            names[kind.resource].append(name)
        return [Target(k, tuple(names[k.resource])) for k in order], True
    kind_words = [w for w in words[0].split(",") if w]
    resources: list[Kind] = []
    for word in kind_words:
        found = [_resolve(r) for r in ALL] if word.lower() == "all" else [_resolve(word)]
        resources.extend(k for k in found if k not in resources)
    names_given = tuple(words[1:])
    for name in names_given:
        if "/" in name:
            raise CliError(
                "there is no need to specify a resource type as a separate argument when "
                "passing arguments in resource/name form"
            )
    many = len(resources) > 1 or any(w.lower() == "all" for w in kind_words)
    return [Target(k, names_given) for k in resources], many
