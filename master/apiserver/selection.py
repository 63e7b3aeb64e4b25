"""Which objects a List or Watch asked for: its label and field selectors together."""

from __future__ import annotations

from dataclasses import dataclass

from client import errors, selectors
from client.customkinds import CustomKind
from client.kinds import Kind, Object


@dataclass(frozen=True)
class Selection:
    """Both selectors of a request; an empty text selects everything."""

    labels: selectors.LabelSelector | None = None
    fields: selectors.FieldSelector | None = None

    @property
    def everything(self) -> bool:
        return self.labels is None and self.fields is None

    def needles(self) -> tuple[bytes, ...]:
        """Bytes that the stored (unencrypted) form of every selected object contains: the
        values of the field selector's `field=value` requirements. Every field a selector
        can name is a protobuf string, stored as its UTF-8 bytes, so an object without one
        of them cannot match and need not be decoded; one with them all is still decoded
        and judged ("node-1" is inside "node-10"). A kubelet's list of its own pods from
        etcd decoded every pod of the cluster to keep a handful."""
        if self.fields is None:
            return ()
        return tuple(
            req.value.encode()
            for req in self.fields.requirements
            if req.op in ("=", "==") and req.value
        )

    def matches(self, obj: Object) -> bool:
        """Whether `obj` is selected."""
        if self.labels is not None and not self.labels.matches(obj.metadata.labels):
            return False
        return self.fields is None or self.fields.matches(obj)


def parse(label_selector: str, field_selector: str, kind: Kind | None = None) -> Selection:
    """The selection of a request; Invalid naming the selector that does not parse. With
    a custom `kind`, the fields its CRD declares selectable may be named too, and only
    those (with metadata's)."""
    labels = fields = None
    if label_selector.strip():
        try:
            labels = selectors.parse_label_selector(label_selector)
        except ValueError as e:
            raise errors.Invalid(f"labelSelector: Invalid value: {label_selector!r}: {e}") from None
    if field_selector.strip():
        try:
            if isinstance(kind, CustomKind):
                fields = selectors.parse_field_selector(
                    field_selector, kind, kind.version().selectable
                )
            else:
                fields = selectors.parse_field_selector(field_selector)
        except ValueError as e:
            raise errors.Invalid(f"fieldSelector: Invalid value: {field_selector!r}: {e}") from None
    return Selection(labels, fields)
