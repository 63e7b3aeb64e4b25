"""Objects as JSON text, each version encoded once.

Turning a protobuf object into Kubernetes' JSON walks every field in Python, and a list
does it for every item: the HTTP API's cost over gRPC, which sends the stored bytes as they
are. An object's resourceVersion is the etcd revision that wrote it, so (resource,
namespace, name, resourceVersion) names one immutable version: its JSON is kept in a
bounded LRU, and lists and watches of unchanged objects reuse it, as kube-apiserver's watch
cache keeps serialized objects.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from client.codec import to_dict
from client.kinds import Kind, Object
from master.apiserver.rest.customobjects import SERVED_AS, converted_by_webhook, output_version

CACHED_VERSIONS = 20_000
"""Object versions whose JSON is kept (a few KiB each)."""


def encode(obj: Object) -> dict[str, Any]:
    """The Kubernetes-shaped dict of an object, apiVersion and kind first."""
    body: dict[str, Any] = to_dict(obj)
    # A custom object read at another served version says that version (customobjects.py).
    version = output_version(obj, body.pop("apiVersion", ""))
    return {"apiVersion": version, "kind": body.pop("kind", ""), **body}


class EncodedObjects:
    """JSON text of object versions, least recently used dropped first."""

    def __init__(self, limit: int = CACHED_VERSIONS) -> None:
        self.limit = limit
        self._texts: OrderedDict[tuple[str, str, str, str], str] = OrderedDict()

    def text(self, kind: Kind, obj: Object) -> str:
        """The object's JSON (from the cache when this version was encoded before)."""
        meta = obj.metadata
        if not meta.resource_version or not meta.name or converted_by_webhook(kind):
            # Bookmarks and unsaved objects are not one stored version; what a conversion
            # webhook made of one may change with the webhook: none is cached.
            return json.dumps(encode(obj))
        key = (kind.resource, meta.namespace, meta.name, meta.resource_version + SERVED_AS.get())
        found = self._texts.get(key)
        if found is not None:
            self._texts.move_to_end(key)
            return found
        found = json.dumps(encode(obj))
        self._texts[key] = found
        if len(self._texts) > self.limit:
            self._texts.popitem(last=False)
        return found

    def list_text(self, kind: Kind, items: list[Object], metadata: dict[str, Any]) -> str:
        """A `<Kind>List` as JSON, its items from the cache."""
        head = json.dumps(
            {
                "apiVersion": SERVED_AS.get() or kind.api_version,
                "kind": f"{kind.kind}List",
                "metadata": metadata,
            }
        )
        return head[:-1] + ', "items": [' + ", ".join(self.text(kind, o) for o in items) + "]}"
