"""Matching rules several plugins share: node selector terms, tolerations, pod affinity terms.

They live apart from the plugins because more than one plugin applies them (node
affinity and topology spread both ask "does this node match the pod's node selector?").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from client.nodeaffinity import node_selector_matches, requirement_matches, term_matches
from client.selectors import from_proto
from proto import core_pb2

__all__ = [
    "affinity_term_matches_pod",
    "node_selector_matches",
    "pod_matches_node_selector_and_affinity",
    "requirement_matches",
    "term_matches",
    "term_namespaces",
    "tolerated",
    "tolerates",
]


def pod_matches_node_selector_and_affinity(pod: core_pb2.Pod, node: core_pb2.Node) -> bool:
    """spec.nodeSelector and required node affinity both hold for the node."""
    labels = node.metadata.labels
    for k, v in pod.spec.node_selector.items():
        if labels.get(k) != v:
            return False
    affinity = pod.spec.affinity.node_affinity
    if affinity.HasField("required_during_scheduling_ignored_during_execution"):
        return node_selector_matches(
            affinity.required_during_scheduling_ignored_during_execution, node
        )
    return True


def tolerates(toleration: core_pb2.Toleration, taint: core_pb2.Taint) -> bool:
    """Kubernetes' ToleratesTaint: empty effect matches all; Exists ignores the value."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    op = toleration.operator or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        # An empty key with Equal is invalid in the API; treat it as matching nothing.
        return bool(toleration.key) and toleration.value == taint.value
    return False


def tolerated(taint: core_pb2.Taint, tolerations: Iterable[core_pb2.Toleration]) -> bool:
    """Some toleration tolerates the taint."""
    return any(tolerates(t, taint) for t in tolerations)


def term_namespaces(
    term: core_pb2.PodAffinityTerm,
    pod_namespace: str,
    namespace_labels: Mapping[str, Mapping[str, str]],
) -> set[str] | None:
    """The namespaces a pod affinity term covers; None means every namespace.

    No namespaces and no namespaceSelector: the pod's own namespace. An empty (but set)
    namespaceSelector: every namespace.
    """
    names = set(term.namespaces)
    if term.HasField("namespace_selector"):
        sel = term.namespace_selector
        if not sel.match_labels and not sel.match_expressions:
            return None
        parsed = from_proto(sel)
        names |= {ns for ns, labels in namespace_labels.items() if parsed.matches(labels)}
        return names
    return names or {pod_namespace}


def affinity_term_matches_pod(
    term: core_pb2.PodAffinityTerm,
    owner_namespace: str,
    candidate: core_pb2.Pod,
    namespace_labels: Mapping[str, Mapping[str, str]],
) -> bool:
    """Does `candidate` fall under a term owned by a pod in `owner_namespace`?"""
    namespaces = term_namespaces(term, owner_namespace, namespace_labels)
    if namespaces is not None and candidate.metadata.namespace not in namespaces:
        return False
    if not term.HasField("label_selector"):
        return False  # a nil selector in an affinity term selects nothing
    return from_proto(term.label_selector).matches(candidate.metadata.labels)
