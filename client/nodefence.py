"""The self-fencing deadline a kubelet announces on its Node, for the node lifecycle
controller.

A kubelet that has not renewed its Lease for `--node-fence-grace-period` seconds stops
its pods' containers itself (kubelet/fencing.py). The controller may force-delete a pod
stuck Terminating on a silent node only once it knows that deadline has passed, so the
kubelet writes it on its Node as an annotation; no annotation, or 0, means the kubelet
never fences, and its pods are never force-deleted.
"""

from __future__ import annotations

from proto import core_pb2

FENCE_AFTER_ANNOTATION = "kubelet.tugboat.io/fence-after-seconds"


def fence_after(node: core_pb2.Node) -> float | None:
    """Seconds of silence after which the node's kubelet has stopped its pods; None when
    it never does (fencing off, an older kubelet, or a value that is not a number)."""
    text = node.metadata.annotations.get(FENCE_AFTER_ANNOTATION, "")
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if seconds > 0 else None
