"""PodDisruptionBudgets (policy/v1), checked as Kubernetes' policy validation does.

At most one of minAvailable and maxUnavailable, each a count of at least 0 or a
percentage up to 100%, a valid selector, and one of the two unhealthy-pod eviction
policies. Kubernetes' words, so kubectl prints what it prints there.
"""

from __future__ import annotations

from master.apiserver.validation.errors import Errors
from master.apiserver.validation.fields import int_or_percent
from master.apiserver.validation.meta import validate_label_selector
from proto import policy_pb2

__all__ = ["EVICTION_POLICIES", "validate_pod_disruption_budget"]

EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")


def validate_pod_disruption_budget(errs: Errors, pdb: policy_pb2.PodDisruptionBudget) -> None:
    spec = pdb.spec
    given = [f for f in ("min_available", "max_unavailable") if spec.HasField(f)]
    if len(given) == 2:
        errs.add("spec", "Invalid value: minAvailable and maxUnavailable cannot be both set")
    for field, path in (
        ("min_available", "spec.minAvailable"),
        ("max_unavailable", "spec.maxUnavailable"),
    ):
        if field not in given:
            continue
        value = getattr(spec, field)
        n = int_or_percent(errs, path, value)
        if n is not None and value.WhichOneof("value") == "str_val" and n > 100:
            errs.invalid(path, value.str_val, "must not be greater than 100%")
    if spec.HasField("selector"):
        validate_label_selector(errs, spec.selector, "spec.selector")
    errs.enum(
        "spec.unhealthyPodEvictionPolicy",
        spec.unhealthy_pod_eviction_policy,
        EVICTION_POLICIES,
        required=False,
    )
