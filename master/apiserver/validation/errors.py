"""Collecting field errors with Kubernetes' wording (k8s.io/apimachinery/.../field/errors.go).

Every check appends to an `Errors` list instead of raising, so one request reports every
problem at once, each as `FieldError(path, "Invalid value: ...: why")`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from client.codec import FieldError


def show(value: object) -> str:
    """A value as Kubernetes prints it in messages: strings quoted, numbers bare."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    return str(value)


def child(path: str, name: str) -> str:
    """`path.name`."""
    return f"{path}.{name}" if path else name


def index(path: str, i: int | str) -> str:
    """`path[i]`: a list index or a map key."""
    return f"{path}[{i}]"


class Errors(list[FieldError]):
    """The problems found so far; helper methods add one in Kubernetes' wording."""

    def add(self, path: str, detail: str) -> None:
        """An error worded by the caller."""
        self.append(FieldError(path, detail))

    def required(self, path: str, detail: str = "") -> None:
        """`Required value`."""
        self.append(FieldError(path, f"Required value: {detail}" if detail else "Required value"))

    def invalid(self, path: str, value: object, detail: str) -> None:
        """`Invalid value: <value>: <detail>`."""
        self.append(FieldError(path, f"Invalid value: {show(value)}: {detail}"))

    def invalid_each(self, path: str, value: object, details: Iterable[str]) -> None:
        """One Invalid error per message of a syntax check."""
        for detail in details:
            self.invalid(path, value, detail)

    def syntax(
        self, path: str, value: str, check: Callable[[str], Iterable[str]], *, detail: str = ""
    ) -> None:
        """Required (with `detail`) when empty, else one Invalid per message of `check`
        (`is_dns1123_label` and the like): Kubernetes' usual pair for a name-like field,
        so an empty one is reported once as missing rather than as malformed."""
        if not value:
            self.required(path, detail)
        else:
            self.invalid_each(path, value, check(value))

    def unsupported(self, path: str, value: object, supported: Iterable[str]) -> None:
        """`Unsupported value: "x": supported values: "a", "b"`."""
        values = ", ".join(json.dumps(s) for s in supported)
        self.append(
            FieldError(path, f"Unsupported value: {show(value)}: supported values: {values}")
        )

    def duplicate(self, path: str, value: object) -> None:
        """`Duplicate value: <value>`."""
        self.append(FieldError(path, f"Duplicate value: {show(value)}"))

    def not_found(self, path: str, value: object) -> None:
        """`Not found: <value>`."""
        self.append(FieldError(path, f"Not found: {show(value)}"))

    def forbidden(self, path: str, detail: str) -> None:
        """`Forbidden: <detail>`."""
        self.append(FieldError(path, f"Forbidden: {detail}"))

    def too_long(self, path: str, limit: int) -> None:
        """`Too long: must have at most N bytes`."""
        self.append(FieldError(path, f"Too long: must have at most {limit} bytes"))

    def immutable(self, path: str, value: object) -> None:
        """`Invalid value: <value>: field is immutable`."""
        self.invalid(path, value, "field is immutable")

    def enum(self, path: str, value: str, supported: Iterable[str], *, required: bool) -> None:
        """Required when empty (if `required`), Unsupported when not one of `supported`."""
        allowed = list(supported)
        if not value:
            if required:
                self.required(
                    path, "supported values: " + ", ".join(json.dumps(s) for s in allowed)
                )
            return
        if value not in allowed:
            self.unsupported(path, value, allowed)

    def non_negative(self, path: str, value: int) -> None:
        """`must be greater than or equal to 0`."""
        if value < 0:
            self.invalid(path, value, "must be greater than or equal to 0")

    def positive(self, path: str, value: int) -> None:
        """`must be greater than 0`."""
        if value <= 0:
            self.invalid(path, value, "must be greater than 0")

    def port(self, path: str, value: int) -> None:
        """`must be between 1 and 65535, inclusive`."""
        if not 1 <= value <= 65535:
            self.invalid(path, value, "must be between 1 and 65535, inclusive")
