"""Label and field selectors, in Kubernetes' string syntax and as LabelSelector messages.

A label selector is a conjunction of requirements on an object's labels. The string
form is the one kubectl's `-l` takes and the API's List and Watch carry:

    app=web,tier!=db,env in (prod,staging),track notin (canary),release,!legacy

An empty selector selects everything. `str()` gives the canonical form (requirements
sorted by key, set values sorted), so equal selectors print the same.

A field selector compares a few well-known fields (`metadata.name`, `metadata.namespace`,
`spec.nodeName`, `status.phase`, and an Event's `involvedObject.*`) with `=`, `==` or
`!=`, as Kubernetes' field selectors do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from client.kinds import Kind, Object
from client.names import is_qualified_name, is_valid_label_value
from proto import meta_pb2
from proto.apiextensions_pb2 import CustomObject

__all__ = [
    "OPERATORS",
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "from_labels",
    "from_proto",
    "parse_field_selector",
    "parse_label_selector",
]

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
"""The operators of a LabelSelector message's matchExpressions."""


@dataclass(frozen=True)
class Requirement:
    """One condition on a label: `op` is =, ==, !=, in, notin, exists or !."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a set of labels satisfies this requirement."""
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "==", "in"):
            return present and labels[self.key] in self.values
        # != and notin also hold when the label is absent, as in Kubernetes.
        return not present or labels[self.key] not in self.values

    def __str__(self) -> str:
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        if self.op in ("in", "notin"):
            return f"{self.key} {self.op} ({','.join(sorted(self.values))})"
        return f"{self.key}{self.op}{self.values[0]}"


class LabelSelector:
    """A parsed label selector: every requirement must hold."""

    def __init__(self, requirements: Iterable[Requirement] = ()) -> None:
        self.requirements: tuple[Requirement, ...] = tuple(
            sorted(requirements, key=lambda r: r.key)
        )

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every requirement holds for these labels."""
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        """True when it selects everything."""
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSelector) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def _check_key(key: str, where: str) -> None:
    problems = is_qualified_name(key)
    if problems:
        raise ValueError(f"{where}: invalid label key {key!r}: {'; '.join(problems)}")


def _check_value(value: str, where: str) -> None:
    problems = is_valid_label_value(value)
    if problems:
        raise ValueError(f"{where}: invalid label value {value!r}: {'; '.join(problems)}")


def format_labels(labels: Mapping[str, str]) -> str:
    """A label map as kubectl writes it, sorted: `app=web,tier=db` ("" when empty)."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_selector(selector: meta_pb2.LabelSelector | Mapping[str, str]) -> str:
    """metav1.FormatLabelSelector without its "<none>": labels, then expressions, in the
    string syntax (`app=web,tier in (a,b)`); a label map (a ReplicationController's or a
    Service's selector) as its equalities."""
    if not isinstance(selector, meta_pb2.LabelSelector):
        return format_labels(selector)
    parts = [format_labels(selector.match_labels)] if selector.match_labels else []
    for req in selector.match_expressions:
        values = ",".join(sorted(req.values))
        parts.append(
            {
                "In": f"{req.key} in ({values})",
                "NotIn": f"{req.key} notin ({values})",
                "Exists": req.key,
                "DoesNotExist": f"!{req.key}",
            }.get(req.operator, f"{req.key} {req.operator} ({values})")
        )
    return ",".join(parts)


def from_labels(labels: Mapping[str, str]) -> LabelSelector:
    """The selector matching objects that carry all these labels (`a=b,c=d`)."""
    return LabelSelector(Requirement(k, "=", (v,)) for k, v in labels.items())


# Tokens of the string syntax: operators, parentheses, commas, and identifiers (anything
# up to a delimiter, as Kubernetes' lexer does; keys and values are checked afterwards).
_TOKEN = re.compile(r"\s*(==|!=|=|\(|\)|,|!|[^\s=!(),]+)")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break  # only trailing whitespace is left
        out.append(m.group(1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def fail(self, detail: str) -> ValueError:
        return ValueError(f"unable to parse label selector {self.text!r}: {detail}")

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end of selector")
        self.i += 1
        return tok

    def identifier(self, what: str) -> str:
        tok = self.take()
        if tok in ("==", "!=", "=", "(", ")", ",", "!"):
            raise self.fail(f"expected {what}, found {tok!r}")
        return tok

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            key = self.identifier("a label key after '!'")
            _check_key(key, f"label selector {self.text!r}")
            return Requirement(key, "!")
        key = self.identifier("a label key")
        _check_key(key, f"label selector {self.text!r}")
        op = self.peek()
        if op is None or op == ",":
            return Requirement(key, "exists")
        self.take()
        if op in ("=", "==", "!="):
            nxt = self.peek()
            value = "" if nxt is None or nxt == "," else self.identifier("a label value")
            _check_value(value, f"label selector {self.text!r}")
            return Requirement(key, op, (value,))
        if op in ("in", "notin"):
            return Requirement(key, op, self.value_set(key, op))
        raise self.fail(
            f"found {op!r} after key {key!r}, expected one of =, ==, !=, in, notin or ','"
        )

    def value_set(self, key: str, op: str) -> tuple[str, ...]:
        if self.take() != "(":
            raise self.fail(f"expected '(' after '{key} {op}'")
        # Between commas an empty item is the empty value, as in Kubernetes: `in (a,)`.
        values: list[str] = []
        current: str | None = None
        while True:
            tok = self.take()
            if tok in (",", ")"):
                values.append(current or "")
                current = None
                if tok == ")":
                    return tuple(dict.fromkeys(values))
                continue
            if tok in ("==", "!=", "=", "(", "!") or current is not None:
                raise self.fail(f"unexpected {tok!r} in the values of {key!r}")
            _check_value(tok, f"label selector {self.text!r}")
            current = tok

    def parse(self) -> LabelSelector:
        reqs: list[Requirement] = []
        if not self.toks:
            return LabelSelector()
        while True:
            reqs.append(self.requirement())
            tok = self.peek()
            if tok is None:
                return LabelSelector(reqs)
            if tok != ",":
                raise self.fail(f"expected ',' after a requirement, found {tok!r}")
            self.take()
            if self.peek() is None:
                raise self.fail("trailing ','")


def parse_label_selector(text: str) -> LabelSelector:
    """Parse `a=b,c!=d,e in (x,y),f notin (z),g,!h`; ValueError with a clear message."""
    return _Parser(text).parse()


def from_proto(selector: meta_pb2.LabelSelector) -> LabelSelector:
    """matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); ValueError."""
    reqs: list[Requirement] = []
    for k, v in selector.match_labels.items():
        _check_key(k, "matchLabels")
        _check_value(v, f"matchLabels[{k}]")
        reqs.append(Requirement(k, "=", (v,)))
    for i, expr in enumerate(selector.match_expressions):
        where = f"matchExpressions[{i}]"
        _check_key(expr.key, f"{where}.key")
        if expr.operator in ("In", "NotIn"):
            if not expr.values:
                raise ValueError(
                    f"{where}.values: for 'In', 'NotIn' operators, values set can't be empty"
                )
            for v in expr.values:
                _check_value(v, f"{where}.values")
            op = "in" if expr.operator == "In" else "notin"
            reqs.append(Requirement(expr.key, op, tuple(dict.fromkeys(expr.values))))
        elif expr.operator in ("Exists", "DoesNotExist"):
            if expr.values:
                raise ValueError(
                    f"{where}.values: values set must be empty for exists and does not exist"
                )
            reqs.append(Requirement(expr.key, "exists" if expr.operator == "Exists" else "!"))
        else:
            raise ValueError(
                f'{where}.operator: "{expr.operator}" is not a valid label selector operator '
                f"(supported: {', '.join(OPERATORS)})"
            )
    return LabelSelector(reqs)


# ---- field selectors ----

_Getter = Callable[[Object], str]


def _involved(attr: str) -> _Getter:
    return lambda obj: str(getattr(obj.involved_object, attr))  # type: ignore[union-attr]


def _attr(name: str) -> _Getter:
    return lambda obj: str(getattr(obj, name))


def _node_name(obj: Object) -> str:
    return str(obj.spec.node_name)  # type: ignore[union-attr]


def _phase(obj: Object) -> str:
    return str(obj.status.phase)  # type: ignore[union-attr]


_COMMON_FIELDS: dict[str, _Getter] = {
    "metadata.name": lambda obj: obj.metadata.name,
    "metadata.namespace": lambda obj: obj.metadata.namespace,
}
_KIND_FIELDS: dict[str, dict[str, _Getter]] = {
    "Pod": {"spec.nodeName": _node_name, "status.phase": _phase},
    "Namespace": {"status.phase": _phase},
    "Event": {
        f"involvedObject.{json}": _involved(attr)
        for json, attr in (
            ("kind", "kind"),
            ("namespace", "namespace"),
            ("name", "name"),
            ("uid", "uid"),
            ("apiVersion", "api_version"),
            ("resourceVersion", "resource_version"),
            ("fieldPath", "field_path"),
        )
    }
    | {"reason": _attr("reason"), "type": _attr("type")},
}
_ALL_FIELDS = sorted(set(_COMMON_FIELDS) | {f for fields in _KIND_FIELDS.values() for f in fields})


def _custom_field(obj: Any, field: str) -> str:
    """A custom object's selectable field (`spec.color`) as a field selector compares it:
    strings as they are, integers and booleans as Kubernetes writes them, else ""."""
    if not isinstance(obj, CustomObject):
        return ""
    top, _, rest = field.partition(".")
    raw = obj.status.json if top == "status" else obj.content.json
    try:
        value: Any = json.loads(raw or "{}")
    except ValueError:
        return ""
    if top == "status":
        steps = rest.split(".") if rest else []
    else:
        steps = field.split(".")
    for step in steps:
        value = value.get(step) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, str | int) else ""


@dataclass(frozen=True)
class FieldRequirement:
    """`field op value` with op one of =, == and !=."""

    field: str
    op: str
    value: str

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.op}{escaped}"


class FieldSelector:
    """A parsed field selector: every requirement must hold."""

    def __init__(self, requirements: Iterable[FieldRequirement] = ()) -> None:
        self.requirements: tuple[FieldRequirement, ...] = tuple(requirements)

    def matches(self, obj: Object) -> bool:
        """Whether the object's fields satisfy every requirement."""
        fields = _KIND_FIELDS.get(obj.kind, {})
        for req in self.requirements:
            getter = _COMMON_FIELDS.get(req.field) or fields.get(req.field)
            actual = getter(obj) if getter else _custom_field(obj, req.field)
            if (actual == req.value) != (req.op in ("=", "==")):
                return False
        return True

    def empty(self) -> bool:
        """True when it selects everything."""
        return not self.requirements

    def check(self, kind: Kind, extra: Collection[str] = ()) -> None:
        """Raise ValueError if a field is not one this kind can be selected by (`extra`:
        a custom kind's selectableFields)."""
        allowed = _COMMON_FIELDS.keys() | _KIND_FIELDS.get(kind.kind, {}).keys() | set(extra)
        for req in self.requirements:
            if req.field not in allowed:
                raise ValueError(
                    f'field label not supported: "{req.field}" for {kind.kind} '
                    f"(supported: {', '.join(sorted(allowed))})"
                )

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str, where: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "\\,=":
                raise ValueError(f"{where}: invalid escape sequence in {text!r}")
            out.append(text[i + 1])
            i += 2
            continue
        if c in ",=":
            raise ValueError(f"{where}: {c!r} in a value must be escaped as '\\{c}'")
        out.append(c)
        i += 1
    return "".join(out)


def parse_field_selector(
    text: str, kind: Kind | None = None, extra: Collection[str] = ()
) -> FieldSelector:
    """`metadata.name=x,spec.nodeName!=y`: metadata.name, metadata.namespace, spec.nodeName,
    status.phase with =, == and !=; ValueError naming an unsupported field.

    With `kind`, fields that kind cannot be selected by are refused as well. `extra` are
    more fields to accept: a custom kind's selectableFields.
    """
    reqs: list[FieldRequirement] = []
    if text.strip():
        for part in _split_unescaped(text, ","):
            where = f"field selector {text!r}"
            m = re.match(r"\s*([A-Za-z][A-Za-z0-9.]*)\s*(==|!=|=)(.*)$", part, re.S)
            if m is None:
                raise ValueError(
                    f"{where}: invalid requirement {part!r}, expected FIELD=VALUE, "
                    "FIELD==VALUE or FIELD!=VALUE"
                )
            name, op, raw = m.groups()
            if name not in _ALL_FIELDS and name not in extra:
                raise ValueError(
                    f'{where}: field label not supported: "{name}" '
                    f"(supported: {', '.join(_ALL_FIELDS)})"
                )
            reqs.append(FieldRequirement(name, op, _unescape(raw, where)))
    selector = FieldSelector(reqs)
    if kind is not None:
        selector.check(kind, extra)
    return selector
