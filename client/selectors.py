"""Label and field selectors, in Kubernetes' string syntax and as LabelSelector messages.

STUB: interface fixed, body to be written (owner: validation/selectors work).
"""

from __future__ import annotations

from collections.abc import Mapping

from client.kinds import Object
from proto import meta_pb2


class LabelSelector:
    """A parsed label selector: every requirement must hold."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        raise NotImplementedError

    def empty(self) -> bool:
        """True when it selects everything."""
        raise NotImplementedError


def parse_label_selector(text: str) -> LabelSelector:
    """Parse `a=b,c!=d,e in (x,y),f notin (z),g,!h`; ValueError with a clear message."""
    raise NotImplementedError


def from_proto(selector: meta_pb2.LabelSelector) -> LabelSelector:
    """matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); ValueError."""
    raise NotImplementedError


class FieldSelector:
    def matches(self, obj: Object) -> bool:
        raise NotImplementedError


def parse_field_selector(text: str) -> FieldSelector:
    """`metadata.name=x,spec.nodeName!=y`: metadata.name, metadata.namespace, spec.nodeName,
    status.phase with =, == and !=; ValueError naming an unsupported field."""
    raise NotImplementedError
