"""HorizontalPodAutoscalers: autoscaling/v2's defaults, then its checks; status is the
controller's.

Defaults follow Kubernetes' SetDefaults_HorizontalPodAutoscaler: minReplicas 1, a cpu
target of 80 % when no metric is given, and, only when the user wrote a `behavior`, its
missing rules and policies from the shared defaults (client/autoscaling.py). The
scale-down window stays unset, as in Kubernetes, so that the controller's own flag
decides it. Every spec field may change later (Kubernetes has no immutable HPA field).
"""

from __future__ import annotations

from typing import Any

from client import autoscaling
from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation.autoscaling import validate_horizontal_pod_autoscaler
from master.apiserver.validation.errors import Errors
from proto import autoscaling_pb2


def default_horizontal_pod_autoscaler(hpa: autoscaling_pb2.HorizontalPodAutoscaler) -> None:
    spec = hpa.spec
    if not spec.HasField("min_replicas"):
        spec.min_replicas = 1
    if not spec.metrics:
        cpu = spec.metrics.add(type="Resource")
        cpu.resource.name = "cpu"
        cpu.resource.target.type = "Utilization"
        cpu.resource.target.average_utilization = autoscaling.DEFAULT_CPU_UTILIZATION
    if spec.HasField("behavior"):
        autoscaling.fill_rules(spec.behavior.scale_up, autoscaling.scale_up_defaults())
        autoscaling.fill_rules(spec.behavior.scale_down, autoscaling.scale_down_defaults())


class HorizontalPodAutoscalerStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        # A new HPA has not been acted on yet: whatever status the client sent is dropped.
        obj.ClearField("status")

    def default(self, obj: Any) -> None:
        default_horizontal_pod_autoscaler(obj)

    def validate(self, errs: Errors, obj: Any) -> None:
        validate_horizontal_pod_autoscaler(errs, obj)


STRATEGY = HorizontalPodAutoscalerStrategy(by_resource("horizontalpodautoscalers"))
