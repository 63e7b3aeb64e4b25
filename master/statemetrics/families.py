"""Metric families built while walking the caches: declared on first use, filled per object.

A scrape creates fresh families (nothing is kept between scrapes), so an object deleted
since the last one simply stops appearing, as in kube-state-metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from prometheus_client.metrics_core import Metric

from client.quantity import parse_quantity
from client.timestamps import try_epoch as parse_time
from proto import meta_pb2

Labels = dict[str, str]

_UNITS = {"cpu": "core", "memory": "byte", "ephemeral-storage": "byte"}
"""kube-state-metrics' unit label of a resource; any other (pods, ...) is "integer"."""


class Condition(Protocol):
    """What every kind's status condition has (NodeCondition, DeploymentCondition, ...)."""

    @property
    def type(self) -> str: ...

    @property
    def status(self) -> str: ...


class Families:
    """Every family of one scrape, by name, in the order first used."""

    def __init__(self) -> None:
        self._families: dict[str, Metric] = {}

    def _family(self, name: str, help_text: str, kind: str) -> Metric:
        family = self._families.get(name)
        if family is None:
            base = name.removesuffix("_total") if kind == "counter" else name
            family = self._families[name] = Metric(base, help_text, kind)
        return family

    def gauge(self, name: str, help_text: str, labels: Labels, value: float) -> None:
        """One gauge sample."""
        self._family(name, help_text, "gauge").add_sample(name, labels, float(value))

    def counter(self, name: str, help_text: str, labels: Labels, value: float) -> None:
        """One counter sample; `name` ends in `_total`."""
        self._family(name, help_text, "counter").add_sample(name, labels, float(value))

    def declare(self, name: str, help_text: str, kind: str = "gauge") -> None:
        """Make the family exist even with no samples (its HELP and TYPE still print)."""
        self._family(name, help_text, kind)

    def timestamp(self, name: str, help_text: str, labels: Labels, text: str) -> None:
        """A gauge of an RFC 3339 time as Unix seconds; nothing when the time is unset."""
        at = parse_time(text) if text else None
        if at is not None:
            self.gauge(name, help_text, labels, at)

    def created(self, kind: str, what: str, labels: Labels, text: str) -> None:
        """`kube_<kind>_created`, with the help nearly every kind has ("Unix creation time of
        the <what>."); nothing when the time is unset."""
        self.timestamp(f"kube_{kind}_created", f"Unix creation time of the {what}.", labels, text)

    def reason(self, name: str, help_text: str, labels: Labels, reason: str) -> None:
        """A sample of 1 labelled with `reason`; nothing when there is no reason."""
        if reason:
            self.gauge(name, help_text, {**labels, "reason": reason}, 1)

    def one_of(
        self, name: str, help_text: str, labels: Labels, key: str, choices: tuple[str, ...],
        chosen: str,
    ) -> None:
        """One sample per choice, 1 for the chosen one and 0 for the others (phases)."""
        for choice in choices:
            self.gauge(name, help_text, {**labels, key: choice}, 1 if choice == chosen else 0)

    def condition(self, name: str, help_text: str, labels: Labels, status: str) -> None:
        """kube-state-metrics' three samples of a condition: status true, false, unknown."""
        self.one_of(
            name, help_text, labels, "status", ("true", "false", "unknown"), status.lower()
        )

    def conditions(
        self, name: str, help_text: str, labels: Labels, conditions: Iterable[Condition]
    ) -> None:
        """A `*_status_condition` family: each condition's three samples, labelled with its
        type, as kube-state-metrics writes them for every kind with status conditions."""
        for c in conditions:
            self.condition(name, help_text, {**labels, "condition": c.type}, c.status)

    def all(self) -> list[Metric]:
        """The families, for a Prometheus collector to yield."""
        return list(self._families.values())


def resources(amounts: Mapping[str, str]) -> Iterator[tuple[Labels, float]]:
    """Each resource of `amounts` (cpu: "500m") in name order: its labels (resource, unit)
    and its amount; an amount that does not parse is left out."""
    for resource, text in sorted(amounts.items()):
        try:
            value = float(parse_quantity(text))
        except ValueError:
            continue
        yield {"resource": resource, "unit": _UNITS.get(resource, "integer")}, value


def owner_labels(refs: Iterable[meta_pb2.OwnerReference]) -> list[Labels]:
    """kube-state-metrics' owner labels, one set per owner reference; one set of empty
    values without any (kube-state-metrics 2.x: Prometheus then has no such label, which
    `owner_kind=""` selects; 1.x wrote "<none>")."""
    out: list[Labels] = []
    for ref in refs:
        out.append(
            {
                "owner_kind": ref.kind,
                "owner_name": ref.name,
                "owner_is_controller": "true" if ref.controller else "false",
            }
        )
    return out or [{"owner_kind": "", "owner_name": "", "owner_is_controller": ""}]
