"""Node selector terms: whether a node matches a NodeSelector, as Kubernetes decides it.

Shared by the scheduler (node affinity, volume binding) and the controllers (a volume's
node affinity), which may not import each other; one copy keeps them agreeing on which
node a term selects.
"""

from __future__ import annotations

from collections.abc import Mapping

from proto import core_pb2

__all__ = ["node_selector_matches", "requirement_matches", "term_matches"]


def requirement_matches(req: core_pb2.NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    """One matchExpressions entry: In, NotIn, Exists, DoesNotExist, Gt, Lt."""
    op = req.operator
    present = req.key in labels
    value = labels.get(req.key, "")
    if op == "In":
        return present and value in req.values
    if op == "NotIn":
        return not present or value not in req.values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        if not present or len(req.values) != 1:
            return False
        try:
            have, want = int(value), int(req.values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: core_pb2.NodeSelectorTerm, node: core_pb2.Node) -> bool:
    """All expressions and fields of one term hold; an empty term matches nothing."""
    if not term.match_expressions and not term.match_fields:
        return False
    labels = node.metadata.labels
    if not all(requirement_matches(r, labels) for r in term.match_expressions):
        return False
    fields = {"metadata.name": node.metadata.name}
    return all(requirement_matches(r, fields) for r in term.match_fields)


def node_selector_matches(selector: core_pb2.NodeSelector, node: core_pb2.Node) -> bool:
    """Terms are ORed."""
    return any(term_matches(t, node) for t in selector.node_selector_terms)
