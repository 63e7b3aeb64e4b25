"""Validation of objects before they are stored.

STUB: interface fixed, body to be written (owner: validation/defaults work).
"""

from __future__ import annotations

from client.codec import FieldError
from client.kinds import Kind, Object


def validate(kind: Kind, obj: Object, old: Object | None = None) -> list[FieldError]:
    """Every problem with `obj` (after defaulting); `old` is the stored object on update."""
    return []
