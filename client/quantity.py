"""Kubernetes resource quantities: `500m`, `1.5`, `128Mi`, `1G`, `2e3`.

Quantities are kept as the strings users wrote (that is what the API stores); this module
turns them into exact `Fraction`s so that arithmetic never loses precision, and rounds up
only at the edge, as Kubernetes does when it asks for whole millicores or bytes.

The grammar is Kubernetes' (k8s.io/apimachinery/pkg/api/resource):

    <quantity>  ::= <sign>? <number> <suffix>?
    <number>    ::= <digits> | <digits>.<digits>? | .<digits>
    <suffix>    ::= Ki | Mi | Gi | Ti | Pi | Ei        (binary SI, powers of 1024)
                  | n | u | m | k | M | G | T | P | E   (decimal SI)
                  | (e | E) <sign>? <digits>           (decimal exponent)

Note that a bare `E` is the exa suffix (1E = 10**18) while `1E3` is an exponent.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

__all__ = [
    "QUANTITY_PATTERN",
    "cpu_millis",
    "format_cpu",
    "format_memory",
    "format_quantity",
    "memory_bytes",
    "parse_quantity",
]

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

_NUMBER = r"(?P<sign>[+-])?(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_SUFFIX = r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?"
_QUANTITY = re.compile(rf"{_NUMBER}{_SUFFIX}")

QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?[0-9]+))?$"
)
"""The regular expression of a valid quantity, as printed in error messages."""

_MAX_EXPONENT = 1000
"""Exponents beyond this are refused: `1e999999999` would otherwise build a huge integer."""


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity; ValueError naming what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"quantity must be a string, got {type(text).__name__}")
    return _parse(text)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Fraction:
    # A cluster spells its quantities a few dozen ways ("100m", "128Mi") and every pod's
    # validation, defaulting, quota and scheduling parses them again; a Fraction is
    # immutable, so the parsed value is shared. Refusals raise and are not kept.
    if text == "":
        raise ValueError("quantity is empty")
    if text != text.strip():
        raise ValueError(f"quantity {text!r} has surrounding whitespace")
    m = _QUANTITY.fullmatch(text)
    if m is None:
        raise ValueError(
            f"quantity {text!r} must match the regular expression '{QUANTITY_PATTERN}'"
        )
    value = Fraction(m["number"])
    suffix = m["suffix"] or ""
    if suffix in _BINARY:
        value *= 1024 ** _BINARY[suffix]
    elif suffix in _DECIMAL:
        value *= Fraction(10) ** _DECIMAL[suffix]
    else:
        exponent = int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            raise ValueError(f"quantity {text!r} has an exponent out of range")
        value *= Fraction(10) ** exponent
    return -value if m["sign"] == "-" else value


def cpu_millis(text: str) -> int:
    """CPU in millicores, rounded up: "500m" -> 500, "1.5" -> 1500."""
    return math.ceil(parse_quantity(text) * 1000)


def memory_bytes(text: str) -> int:
    """Bytes, rounded up: "128Mi" -> 134217728, "1G" -> 1000000000."""
    return math.ceil(parse_quantity(text))


def format_quantity(value: Fraction | int, *, binary: bool = False) -> str:
    """An exact spelling: 2000 -> "2k", 1500 -> "1500", 0.5 -> "500m", 2**20 binary -> "1Mi".

    Whole numbers get the largest suffix that keeps them whole (binary suffixes when
    `binary`, for byte counts); fractions are written in m, u or n, rounded up to n.
    """
    value = Fraction(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value.denominator == 1:
        whole = value.numerator
        if whole == 0:
            return "0"
        if binary:
            for suffix, power in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
                if whole % (1024**power) == 0:
                    return f"{sign}{whole // 1024**power}{suffix}"
            return f"{sign}{whole}"
        for suffix, exp in sorted(_DECIMAL.items(), key=lambda kv: -kv[1]):
            if exp > 0 and whole % (10**exp) == 0:
                return f"{sign}{whole // 10**exp}{suffix}"
        return f"{sign}{whole}"
    for suffix in ("m", "u", "n"):
        scaled = value * Fraction(10) ** -_DECIMAL[suffix]
        if scaled.denominator == 1 or suffix == "n":
            return f"{sign}{math.ceil(scaled)}{suffix}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_cpu(millis: int) -> str:
    """kubectl's spelling of a CPU amount: 1000 -> "1", 1500 -> "1500m"."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory(count: int) -> str:
    """A byte count with the largest binary suffix that keeps it whole: 134217728 -> "128Mi"."""
    return format_quantity(count, binary=True)
