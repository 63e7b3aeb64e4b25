"""NetworkPolicies: kube-state-metrics' kube_networkpolicy_* (internal/store/networkpolicy.go),
the rule counts a dashboard shows beside each policy."""

from __future__ import annotations

from master.statemetrics.families import Families
from proto import networking_pb2

__all__ = ["network_policy_metrics"]


def network_policy_metrics(np: networking_pb2.NetworkPolicy, out: Families) -> None:
    """Every kube_networkpolicy_* series of one NetworkPolicy."""
    m = np.metadata
    labels = {"namespace": m.namespace, "networkpolicy": m.name}
    out.created("networkpolicy", "NetworkPolicy", labels, m.creation_timestamp)
    for direction, rules in (("ingress", np.spec.ingress), ("egress", np.spec.egress)):
        out.gauge(
            f"kube_networkpolicy_spec_{direction}_rules",
            f"Number of {direction} rules on the networkpolicy",
            labels,
            len(rules),
        )
