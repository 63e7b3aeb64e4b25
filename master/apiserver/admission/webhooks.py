"""Admission webhooks: the API server asks HTTPS endpoints whether a write may happen,
and mutating ones how to change it, as kube-apiserver's webhook admission does (v1).

- Configurations are read as the policies' are (matching.py): from the watch cache
  once it has them. Webhooks are taken in the order of their configuration's name, then
  their place in it. A webhook is called when one of its `rules` takes the write, its
  `namespaceSelector` and `objectSelector` match, and its `matchConditions` (CEL over
  `object`, `oldObject` and `request`) all hold. Writes to the webhook configuration
  and admission policy kinds are never sent, so a broken webhook cannot lock its own
  fix out, as in Kubernetes.
- The call is an `AdmissionReview` (admission.k8s.io/v1, or v1beta1 when a webhook
  speaks only that) POSTed to `clientConfig.url`, or to a Service: Tugboat resolves the
  Service to one of its ready endpoints, as kube-apiserver's endpoint routing does, and
  checks the certificate against `<service>.<namespace>.svc` with `caBundle` as the
  trust root. `timeoutSeconds` bounds it. A call that fails (no answer, bad answer, a
  match condition that cannot be evaluated) refuses the write with Kubernetes'
  "failed calling webhook" InternalError unless the webhook's `failurePolicy` is
  Ignore.
- A refusal carries the webhook's status code (400 when it gives none) and reason, and
  reads "admission webhook "NAME" denied the request: MESSAGE" as Kubernetes' does;
  warnings reach the client as `Warning` headers.
- Mutating webhooks run one after another before the kind's validation, each seeing
  what the one before returned; a `JSONPatch` answer is applied to the object's JSON
  (patching.py, as a PATCH request's) and decoded again. A webhook with
  `reinvocationPolicy: IfNeeded` is called once more when a later webhook changed the
  object after it. Validating webhooks run after validation and the admission policies,
  all at once.

Delivering a review (the URL or Service, TLS, the uid echoed) is webhookclient.py's, which
CRD conversion webhooks share.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any

import structlog

from client import errors
from client.codec import FieldError, from_dict
from client.kinds import Kind, Object, by_resource
from master.apiserver.admission import cel
from master.apiserver.admission.caller import warn
from master.apiserver.admission.matching import (
    Stored,
    Write,
    object_dict,
    request_attributes,
    rule_matches,
    selectors_match,
)
from master.apiserver.etcd import Etcd
from master.apiserver.patching import json_patch
from master.apiserver.watchcache import WatchCache
from master.apiserver.webhookclient import CallFailed, post_review

__all__ = ["WebhookAdmission"]

log = structlog.get_logger("apiserver.admission.webhooks")

VALIDATING = by_resource("validatingwebhookconfigurations")
MUTATING = by_resource("mutatingwebhookconfigurations")
EXEMPT = frozenset(
    {
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
    }
)
"""Kinds whose writes no webhook sees (Kubernetes exempts the same four)."""

_OPTIONS = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


@dataclass(frozen=True)
class _Hook:
    """One webhook of a configuration."""

    spec: Any
    """A ValidatingWebhook or MutatingWebhook."""

    @property
    def name(self) -> str:
        return str(self.spec.name)

    @property
    def fails_closed(self) -> bool:
        return bool(self.spec.failure_policy != "Ignore")


def _selects_namespaces(hook: _Hook) -> bool:
    chosen = hook.spec.namespace_selector
    return bool(chosen.match_labels or chosen.match_expressions)


class WebhookAdmission:
    """Calls the validating and mutating webhooks that writes match."""

    def __init__(self, etcd: Etcd, cache: WatchCache | None = None) -> None:
        self.stored = Stored(etcd, cache)

    async def _chosen(
        self, config_kind: Kind, w: Write, namespace_obj: Any | None, configs: list[Any] | None
    ) -> list[_Hook]:
        """The webhooks that take `w`, in order; `configs` are the configurations when
        the caller has read them already."""
        if w.kind.resource in EXEMPT:
            return []
        if configs is None:
            configs = await self.stored.all(config_kind)
        hooks = [
            _Hook(spec)
            for config in sorted(configs, key=lambda c: c.metadata.name)
            for spec in config.webhooks
            if any(rule_matches(r, w) for r in spec.rules)
        ]
        if namespace_obj is None and any(_selects_namespaces(h) for h in hooks):
            namespace_obj = await self.stored.namespace_of(w)
        hooks = [h for h in hooks if selectors_match(h.spec, w, namespace_obj)]
        if not any(h.spec.match_conditions for h in hooks):
            return hooks
        bound = cel.bind(
            {
                "object": object_dict(w.obj, w.kind),
                "oldObject": object_dict(w.old, w.kind),
                "request": request_attributes(w),
            }
        )
        return [h for h in hooks if self._conditions_hold(h, bound)]

    def _conditions_hold(self, hook: _Hook, bound: dict[str, Any]) -> bool:
        for condition in hook.spec.match_conditions:
            try:
                if not cel.as_bool(condition.expression, bound):
                    return False
            except cel.CelError as e:
                problem = f"failed to evaluate match condition {condition.name!r}: {e}"
                if hook.fails_closed:
                    raise _failed(hook, problem) from None
                log.warning("webhook skipped", key=hook.name, error=problem)
                return False
        return True

    # ---- mutating ----

    async def mutate(
        self, w: Write, namespace_obj: Any | None = None, configs: list[Any] | None = None
    ) -> Object | None:
        """The object as the mutating webhooks leave it; None when none changed it."""
        hooks = await self._chosen(MUTATING, w, namespace_obj, configs)
        if not hooks or w.obj is None:
            return None
        original = object_dict(w.obj, w.kind)
        assert original is not None
        current = original
        changed_after: dict[int, bool] = {}
        for i, hook in enumerate(hooks):
            patched = await self._mutate_one(hook, w, current)
            if patched is not None and patched != current:
                current = patched
                for j in changed_after:
                    changed_after[j] = True
            changed_after[i] = False
        for i, hook in enumerate(hooks):
            if changed_after.get(i) and hook.spec.reinvocation_policy == "IfNeeded":
                current = await self._mutate_one(hook, w, current) or current
        if current == original:
            return None
        try:
            decoded: Any = from_dict(w.kind.message, current)
        except FieldError as e:
            raise errors.InternalError(
                f"Internal error occurred: the object mutated by webhooks is invalid: {e}"
            ) from None
        result: Object = decoded
        return result

    async def _mutate_one(
        self, hook: _Hook, w: Write, current: dict[str, Any]
    ) -> dict[str, Any] | None:
        response = await self._ask(hook, w, current)
        if response is None or not response.get("patch"):
            return None
        if response.get("patchType") != "JSONPatch":
            raise _failed(hook, f"unsupported patch type {response.get('patchType')!r}")
        try:
            patch = json.loads(base64.b64decode(response["patch"]))
            patched: dict[str, Any] = json_patch(current, patch)
        except (ValueError, TypeError) as e:
            raise _failed(hook, f"the patch does not apply: {e}") from None
        if not isinstance(patched, dict):
            raise _failed(hook, "the patched object is not a JSON object")
        log.info(
            "mutated by webhook", key=f"{w.kind.resource}/{w.namespace}/{w.name}", webhook=hook.name
        )
        return patched

    # ---- validating ----

    async def validate(
        self, w: Write, namespace_obj: Any | None = None, configs: list[Any] | None = None
    ) -> None:
        """Refuse `w` when a validating webhook denies it (all asked at once)."""
        hooks = await self._chosen(VALIDATING, w, namespace_obj, configs)
        if not hooks:
            return
        current = object_dict(w.obj, w.kind)
        outcomes = await asyncio.gather(
            *(self._ask(h, w, current) for h in hooks), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    # ---- one call ----

    async def _ask(
        self, hook: _Hook, w: Write, current: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The webhook's answer when it allows the write; None when it could not be
        asked and fails open. Refuses (raises) when it denies, or fails closed."""
        try:
            response = await self._call(hook, w, current)
        except CallFailed as e:
            if hook.fails_closed:
                raise _failed(hook, f"failed to call webhook: {e}") from None
            log.warning("webhook failed, ignored", key=hook.name, error=str(e))
            return None
        for text in response.get("warnings") or []:
            warn(str(text))
        if not response.get("allowed"):
            raise _denied(hook, response.get("status") or {})
        return response

    async def _call(self, hook: _Hook, w: Write, current: dict[str, Any] | None) -> dict[str, Any]:
        versions = list(hook.spec.admission_review_versions)
        version = "v1" if "v1" in versions or not versions else "v1beta1"
        request = {
            **request_attributes(w),
            "object": current if w.operation != "DELETE" else None,
            "oldObject": object_dict(w.old, w.kind),
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": _OPTIONS[w.operation]},
        }
        request["requestKind"] = request["kind"]
        request["requestResource"] = request["resource"]
        for empty in ("subResource", "name", "namespace"):
            # Left out when empty, as Kubernetes' JSON does (kopf reads an empty
            # subResource as a subresource, and then finds no handler for the write).
            if not request[empty]:
                del request[empty]
        review = {"apiVersion": f"admission.k8s.io/{version}", "kind": "AdmissionReview"}
        seconds = int(hook.spec.timeout_seconds or 10)
        return await post_review(self.stored, hook.spec.client_config, review, request, seconds)


def _failed(hook: _Hook, problem: str) -> errors.ApiError:
    return errors.InternalError(
        f'Internal error occurred: failed calling webhook "{hook.name}": {problem}'
    )


def _denied(hook: _Hook, status: dict[str, Any]) -> errors.ApiError:
    denied = f'admission webhook "{hook.name}" denied the request'
    message, reason = str(status.get("message") or ""), str(status.get("reason") or "")
    if message:
        text = f"{denied}: {message}"
    elif reason:
        text = f"{denied}: {reason}"
    else:
        text = f"{denied} without explanation"
    code = status.get("code")
    code = code if isinstance(code, int) and code >= 400 else 400
    return errors.StatusError(text, http_code=code, reason=reason)
