"""The API server's refusals, worded as kube-apiserver words them.

kubectl and scripts match on these messages (`deployments.apps "web" not found`,
`Deployment.apps "web" is invalid: spec.replicas: ...`), so every verb builds them here
rather than spelling them again.
"""

from __future__ import annotations

from collections.abc import Sequence

from client import errors
from client.codec import FieldError
from client.kinds import Kind

__all__ = ["conflict", "described", "invalid", "not_found", "resource_named"]


def described(kind: Kind, name: str) -> str:
    """`Deployment.apps "web"`: how Kubernetes names an object in error messages."""
    qualified = f"{kind.kind}.{kind.group}" if kind.group else kind.kind
    return f'{qualified} "{name}"'


def resource_named(kind: Kind, name: str) -> str:
    """`deployments.apps "web"`: the resource spelling of NotFound and Conflict messages."""
    resource = f"{kind.resource}.{kind.group}" if kind.group else kind.resource
    return f'{resource} "{name}"'


def invalid(kind: Kind, name: str, problems: Sequence[FieldError]) -> errors.Invalid:
    """Kubernetes' Invalid message: `Kind.group "name" is invalid: path: detail; ...`."""
    details = "; ".join(f"{p.path}: {p.detail}" if p.path else p.detail for p in problems)
    causes = [(p.path, p.detail) for p in problems]
    return errors.Invalid(f"{described(kind, name)} is invalid: {details}", causes)


def conflict(kind: Kind, name: str) -> errors.Conflict:
    return errors.Conflict(
        f"Operation cannot be fulfilled on {resource_named(kind, name)}: the object has been "
        "modified; please apply your changes to the latest version and try again"
    )


def not_found(kind: Kind, name: str) -> errors.NotFound:
    return errors.NotFound(f"{resource_named(kind, name)} not found")
