"""Defaults as Kubernetes sets them, applied before validation on create and update.

STUB: interface fixed, body to be written (owner: validation/defaults work).
"""

from __future__ import annotations

from client.kinds import Kind, Object


def apply_defaults(kind: Kind, obj: Object) -> None:
    """Fill the unset fields of `obj` in place."""
