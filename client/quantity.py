"""Kubernetes resource quantities: `500m`, `1.5`, `128Mi`, `1G`, `2e3`.

STUB: interface fixed, body to be written (owner: validation/selectors work).
"""

from __future__ import annotations

from fractions import Fraction


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity; ValueError naming what is wrong."""
    raise NotImplementedError


def cpu_millis(text: str) -> int:
    """CPU in millicores, rounded up: "500m" -> 500, "1.5" -> 1500."""
    raise NotImplementedError


def memory_bytes(text: str) -> int:
    """Bytes, rounded up: "128Mi" -> 134217728, "1G" -> 1000000000."""
    raise NotImplementedError
