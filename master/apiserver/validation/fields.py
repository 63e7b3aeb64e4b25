"""Checks of single fields that several kinds share: quantities, IP addresses, ports,
the names that tell a list's entries apart.

Kind-specific validators (pod.py, service.py, cluster.py, ...) build on these, so a field
of the same type is judged, and worded, the same way wherever it appears.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from fractions import Fraction

from client.names import is_percent, is_port_name
from client.quantity import QUANTITY_PATTERN, parse_quantity
from master.apiserver.validation.errors import Errors
from proto import core_pb2, meta_pb2

PROTOCOLS = ("TCP", "UDP", "SCTP")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def quantity(errs: Errors, path: str, text: str) -> Fraction | None:
    """The value of a quantity that must be non-negative; None after adding an error."""
    try:
        value = parse_quantity(text)
    except ValueError:
        errs.invalid(
            path, text, f"quantities must match the regular expression '{QUANTITY_PATTERN}'"
        )
        return None
    if value < 0:
        errs.invalid(path, text, "must be greater than or equal to 0")
        return None
    return value


def port_or_name(errs: Errors, port: meta_pb2.IntOrString, path: str) -> None:
    """A port number 1-65535 or an IANA_SVC_NAME."""
    if port.WhichOneof("value") == "str_val":
        errs.invalid_each(path, port.str_val, is_port_name(port.str_val))
    else:
        errs.port(path, port.int_val)


def unique_name(
    errs: Errors,
    path: str,
    name: str,
    seen: set[str],
    rule: Callable[[str], list[str]],
    *,
    required: bool = True,
) -> None:
    """The name of one entry of a list (a volume, a port, a version): given when
    `required`, well-formed by `rule`, and none of `seen`, the names before it (which it
    joins)."""
    if not name:
        if required:
            errs.required(path)
        return
    errs.invalid_each(path, name, rule(name))
    if name in seen:
        errs.duplicate(path, name)
    seen.add(name)


_NOT_JSON = object()


def json_text(errs: Errors, path: str, text: str, *, object_only: bool = False) -> None:
    """Raw JSON kept as text (RawExtension, fieldsV1) parses, as a JSON object when
    `object_only`: it is parsed whenever the object is shown as Kubernetes JSON, so text
    that does not would break every read of it."""
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError):
        tree = _NOT_JSON
    if tree is _NOT_JSON or (object_only and not isinstance(tree, dict)):
        errs.invalid(path, text[:64], "must be a JSON object" if object_only else "must be JSON")


def validate_ip(errs: Errors, path: str, value: str) -> None:
    """An IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        errs.invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")


def int_or_percent(errs: Errors, path: str, value: meta_pb2.IntOrString) -> int | None:
    """A non-negative count or percentage; the percentage (or count) or None if invalid."""
    which = value.WhichOneof("value")
    if which == "str_val":
        problems = is_percent(value.str_val)
        errs.invalid_each(path, value.str_val, problems)
        return None if problems else int(value.str_val[:-1])
    if value.int_val < 0:
        errs.invalid(path, value.int_val, "must be greater than or equal to 0")
        return None
    return value.int_val


def relative_path(errs: Errors, path: str, value: str) -> None:
    """A path inside a volume: relative, and never climbing out of it."""
    if value.startswith("/"):
        errs.invalid(path, value, "must be a relative path")
    if ".." in value.split("/"):
        errs.invalid(path, value, "must not contain '..'")


def file_mode(errs: Errors, path: str, mode: int) -> None:
    """A file's permission bits, as a volume's defaultMode or an item's mode."""
    if not 0 <= mode <= 0o777:
        errs.invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")


def key_to_path(errs: Errors, item: core_pb2.KeyToPath, path: str) -> None:
    """One key of a ConfigMap or Secret written as a file of a volume."""
    if not item.key:
        errs.required(f"{path}.key")
    if not item.path:
        errs.required(f"{path}.path")
    else:
        relative_path(errs, f"{path}.path", item.path)
    if item.HasField("mode"):
        file_mode(errs, f"{path}.mode", item.mode)
