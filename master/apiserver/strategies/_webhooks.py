"""What both webhook configuration kinds share: admissionregistration/v1's defaults and
validation, which differ between them only in the mutating webhook's reinvocationPolicy."""

from __future__ import annotations

from typing import Any

from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import webhooks
from master.apiserver.validation.errors import Errors

DEFAULT_TIMEOUT_SECONDS = 10
DEFAULT_SERVICE_PORT = 443


class WebhookConfigurationStrategy(Strategy):
    def default(self, obj: Any) -> None:
        for hook in obj.webhooks:
            if not hook.HasField("failure_policy"):
                hook.failure_policy = "Fail"
            if not hook.HasField("match_policy"):
                hook.match_policy = "Equivalent"
            hook.namespace_selector.SetInParent()
            hook.object_selector.SetInParent()
            if not hook.HasField("timeout_seconds"):
                hook.timeout_seconds = DEFAULT_TIMEOUT_SECONDS
            for rule in hook.rules:
                if not rule.HasField("scope"):
                    rule.scope = "*"
            service = hook.client_config.service
            if hook.client_config.HasField("service") and not service.HasField("port"):
                service.port = DEFAULT_SERVICE_PORT
            if hasattr(hook, "reinvocation_policy") and not hook.HasField("reinvocation_policy"):
                hook.reinvocation_policy = "Never"

    def validate(self, errs: Errors, obj: Any) -> None:
        webhooks.validate_configuration(errs, obj)
