"""ValidatingWebhookConfigurations: defaulted and validated as admissionregistration/v1 does
(_webhooks.py); the calls themselves are admission/webhooks.py's."""

from __future__ import annotations

from client.kinds import by_resource
from master.apiserver.strategies._webhooks import WebhookConfigurationStrategy

STRATEGY = WebhookConfigurationStrategy(by_resource("validatingwebhookconfigurations"))
