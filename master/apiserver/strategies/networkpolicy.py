"""NetworkPolicies: defaulted as networking/v1 does (a port's protocol is TCP; without
policyTypes a policy isolates Ingress, and Egress too when it has egress rules), so the
enforcing agents read what a policy means from the object alone."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation.errors import Errors
from master.apiserver.validation.networkpolicy import validate_network_policy


class NetworkPolicyStrategy(Strategy):
    def default(self, obj: Any) -> None:
        spec = obj.spec
        spec.pod_selector.SetInParent()  # absent is empty: every pod of the namespace
        for rule in [*spec.ingress, *spec.egress]:
            for port in rule.ports:
                if not port.HasField("protocol"):
                    port.protocol = "TCP"
        if not spec.policy_types:
            spec.policy_types.append("Ingress")
            if spec.egress:
                spec.policy_types.append("Egress")

    def validate(self, errs: Errors, obj: Any) -> None:
        validate_network_policy(errs, obj)


STRATEGY = NetworkPolicyStrategy(by_resource("networkpolicies"))
