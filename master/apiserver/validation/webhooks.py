"""Validating and mutating webhook configurations, checked as Kubernetes'
admissionregistration validation does (v1), in its words.

A webhook the API server could never call (no https, no address, no review version it
speaks) is refused when it is written, naming the field, rather than failing every
write it matches later. Rules and match conditions are checked as a policy's are
(admissionpolicy.py), so both kinds refuse the same mistakes with the same words.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from client.names import is_dns1035_label, is_dns1123_subdomain
from master.apiserver.validation.admissionpolicy import (
    FAILURE_POLICIES,
    MATCH_POLICIES,
    named_expressions,
    validate_rules,
)
from master.apiserver.validation.errors import Errors, index
from master.apiserver.validation.meta import validate_label_selector
from proto import admissionregistration_pb2 as ar

__all__ = ["validate_configuration"]

SIDE_EFFECTS = ("None", "NoneOnDryRun")
REVIEW_VERSIONS = ("v1", "v1beta1")
REINVOCATION_POLICIES = ("Never", "IfNeeded")
MAX_TIMEOUT = 30

Webhook = ar.ValidatingWebhook | ar.MutatingWebhook


def validate_configuration(
    errs: Errors, config: ar.ValidatingWebhookConfiguration | ar.MutatingWebhookConfiguration
) -> None:
    seen: set[str] = set()
    hooks: list[Webhook] = list(config.webhooks)
    for i, hook in enumerate(hooks):
        at = index("webhooks", i)
        if hook.name in seen:
            errs.duplicate(f"{at}.name", hook.name)
        seen.add(hook.name)
        _webhook(errs, at, hook)


def _webhook(errs: Errors, at: str, hook: Webhook) -> None:
    _name(errs, f"{at}.name", hook.name)
    validate_rules(errs, f"{at}.rules", hook.rules)
    if hook.HasField("failure_policy") and hook.failure_policy not in FAILURE_POLICIES:
        errs.unsupported(f"{at}.failurePolicy", hook.failure_policy, FAILURE_POLICIES)
    if hook.HasField("match_policy") and hook.match_policy not in MATCH_POLICIES:
        errs.unsupported(f"{at}.matchPolicy", hook.match_policy, MATCH_POLICIES)
    if not hook.HasField("side_effects"):
        errs.required(
            f"{at}.sideEffects", "must specify one of " + ", ".join(f'"{s}"' for s in SIDE_EFFECTS)
        )
    elif hook.side_effects not in SIDE_EFFECTS:
        errs.unsupported(f"{at}.sideEffects", hook.side_effects, SIDE_EFFECTS)
    if hook.HasField("timeout_seconds") and not 1 <= hook.timeout_seconds <= MAX_TIMEOUT:
        errs.invalid(
            f"{at}.timeoutSeconds",
            hook.timeout_seconds,
            f"the timeout value must be between 1 and {MAX_TIMEOUT} seconds",
        )
    review_versions(errs, f"{at}.admissionReviewVersions", list(hook.admission_review_versions))
    if hook.HasField("namespace_selector"):
        validate_label_selector(errs, hook.namespace_selector, f"{at}.namespaceSelector")
    if hook.HasField("object_selector"):
        validate_label_selector(errs, hook.object_selector, f"{at}.objectSelector")
    client_config(errs, f"{at}.clientConfig", hook.client_config)
    named_expressions(errs, f"{at}.matchConditions", hook.match_conditions)
    if isinstance(hook, ar.MutatingWebhook) and hook.HasField("reinvocation_policy"):
        policy = hook.reinvocation_policy
        if policy not in REINVOCATION_POLICIES:
            errs.unsupported(f"{at}.reinvocationPolicy", policy, REINVOCATION_POLICIES)


def _name(errs: Errors, path: str, name: str) -> None:
    if not name:
        errs.required(path)
        return
    problems = is_dns1123_subdomain(name)
    if problems:
        errs.invalid_each(path, name, problems)
    elif name.count(".") < 2:
        errs.invalid(
            path, name, "should be a domain with at least three segments separated by dots"
        )


def review_versions(errs: Errors, path: str, versions: list[str]) -> None:
    """The review versions a webhook speaks (admission or conversion: the same rules)."""
    if not versions:
        errs.required(path, "must specify one of " + ", ".join(REVIEW_VERSIONS))
        return
    seen: set[str] = set()
    for i, version in enumerate(versions):
        problems = is_dns1035_label(version)
        if problems:
            errs.invalid_each(index(path, i), version, problems)
        if version in seen:
            errs.duplicate(index(path, i), version)
        seen.add(version)
    if not seen & set(REVIEW_VERSIONS):
        errs.invalid(path, versions, "must include at least one of " + ", ".join(REVIEW_VERSIONS))


def client_config(errs: Errors, path: str, config: ar.WebhookClientConfig) -> None:
    """Where a webhook is reached: a URL or a Service (admission or conversion)."""
    has_url, has_service = config.HasField("url"), config.HasField("service")
    if has_url == has_service:
        errs.required(path, "exactly one of url or service is required")
    elif has_url:
        _url(errs, f"{path}.url", config.url)
    else:
        _service(errs, f"{path}.service", config.service)


def _url(errs: Errors, path: str, url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises only when read
    except ValueError as e:
        errs.invalid(path, url, f"url must be a valid URL: {e}")
        return
    if parts.scheme != "https":
        errs.invalid(path, parts.scheme, "'https' is the only allowed URL scheme")
    if not parts.hostname:
        errs.invalid(path, url, "host must be specified")
    if parts.username is not None:
        errs.invalid(path, url, "user information is not permitted in the URL")
    if parts.fragment:
        errs.invalid(path, parts.fragment, "fragments are not permitted in the URL")
    if parts.query:
        errs.invalid(path, parts.query, "query parameters are not permitted in the URL")


def _service(errs: Errors, path: str, service: ar.ServiceReference) -> None:
    if not service.name:
        errs.required(f"{path}.name", "service name is required")
    if not service.namespace:
        errs.required(f"{path}.namespace", "service namespace is required")
    if service.HasField("path") and service.path and not service.path.startswith("/"):
        errs.invalid(f"{path}.path", service.path, "must start with a '/'")
    if service.HasField("port"):
        errs.port(f"{path}.port", service.port)
