"""What the API server, the HPA controller and the CLI share about HorizontalPodAutoscalers.

Kubernetes keeps the default scaling rules in one place (autoscaling/v2 defaults.go's
GenerateHPAScaleUpRules / GenerateHPAScaleDownRules) and both its defaulting and its
controller call them: the API server fills the rules of a `behavior` the user gave, and
the controller uses the same rules when the user gave none. Components share only client/,
so the rules live here. The scale-down stabilization window is the exception, as in
Kubernetes: the API leaves it unset and the controller applies its own flag (300 s).
"""

from __future__ import annotations

from proto import autoscaling_pb2

__all__ = [
    "DEFAULT_CPU_UTILIZATION",
    "DOWNSCALE_STABILIZATION",
    "MAX_PERIOD_SECONDS",
    "MAX_STABILIZATION_WINDOW_SECONDS",
    "RESOURCES",
    "fill_rules",
    "scale_down_defaults",
    "scale_up_defaults",
]

DEFAULT_CPU_UTILIZATION = 80
"""The target of an HPA created with no metrics: cpu at 80 % of the requests."""
DOWNSCALE_STABILIZATION = 300
"""Seconds of the scale-down window when the HPA sets none
(--horizontal-pod-autoscaler-downscale-stabilization)."""
MAX_STABILIZATION_WINDOW_SECONDS = 3600
MAX_PERIOD_SECONDS = 1800
RESOURCES = ("cpu", "memory")
"""The resources whose usage the metrics API serves (metrics-server's two)."""
MAX, MIN, DISABLED = "Max", "Min", "Disabled"
PODS, PERCENT = "Pods", "Percent"


def _policy(kind: str, value: int, period: int) -> autoscaling_pb2.HPAScalingPolicy:
    return autoscaling_pb2.HPAScalingPolicy(type=kind, value=value, period_seconds=period)


def scale_up_defaults() -> autoscaling_pb2.HPAScalingRules:
    """No window; at most 4 pods or double (whichever adds more) every 15 s."""
    return autoscaling_pb2.HPAScalingRules(
        stabilization_window_seconds=0,
        select_policy=MAX,
        policies=[_policy(PODS, 4, 15), _policy(PERCENT, 100, 15)],
    )


def scale_down_defaults() -> autoscaling_pb2.HPAScalingRules:
    """Any number of pods every 15 s; the window is left to the controller."""
    return autoscaling_pb2.HPAScalingRules(select_policy=MAX, policies=[_policy(PERCENT, 100, 15)])


def fill_rules(
    given: autoscaling_pb2.HPAScalingRules, defaults: autoscaling_pb2.HPAScalingRules
) -> None:
    """Set in `given` each part it leaves out (copyHPAScalingRules): the policy selection,
    the window, the policies (as a whole)."""
    if not given.select_policy:
        given.select_policy = defaults.select_policy
    if not given.HasField("stabilization_window_seconds") and defaults.HasField(
        "stabilization_window_seconds"
    ):
        given.stabilization_window_seconds = defaults.stabilization_window_seconds
    if not given.policies:
        given.policies.extend(defaults.policies)
