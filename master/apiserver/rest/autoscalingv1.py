"""`/apis/autoscaling/v1/.../horizontalpodautoscalers`: the older version of the HPA, as a
view of the stored autoscaling/v2 objects.

kubectl 1.32's `autoscale` always sends an autoscaling/v1 HorizontalPodAutoscaler (cpu only:
`targetCPUUtilizationPercentage`), whatever the server prefers; Kubernetes serves both
versions of one stored object and converts between them. Tugboat stores and discovers only
v2, and translates here: a v1 body becomes the v2 object (the cpu target as a Resource
metric) and goes through the very registry, defaults and validation of v2; the answer
goes back as v1 (the first cpu Utilization metric as the target, its current value as
`currentCPUUtilizationPercentage`). Create, get, list, update, patch and delete are served.

Where Kubernetes differs: it keeps the v2-only parts of an object written through v1 in
annotations (autoscaling.alpha.kubernetes.io/...) so that a v1 round trip loses nothing;
here a v1 update replaces the metrics with the cpu target and keeps the stored behavior.
autoscaling/v1 is discovered after v2 (rest/groups.py), which stays the preferred
version, with an OpenAPI schema of its own, and is patched as any kind is, so manifests
and charts written for v1 apply with kubectl and the official clients.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from client import errors
from client.kinds import by_resource
from master.apiserver.access import Request as AccessRequest
from master.apiserver.auth.user import UserInfo
from master.apiserver.flowcontrol.estimate import NO_OPTIONS, ListOptions
from master.apiserver.listing import list_objects
from master.apiserver.patching import (
    PatchError,
    json_merge_patch,
    json_patch,
    strategic_merge_patch,
)
from master.apiserver.rest import flowheaders, kubeproto, status
from master.apiserver.rest.bodies import request_body
from master.apiserver.rest.encoding import encode
from master.apiserver.rest.impersonation import acting_user
from master.apiserver.rest.status import HttpError
from master.apiserver.selection import parse
from master.apiserver.service import ResourcesService

__all__ = ["AutoscalingV1Api", "from_v1", "to_v1"]

HPAS = by_resource("horizontalpodautoscalers")
PREFIX = "/apis/autoscaling/v1"


def from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A v1 HPA (a dict) as the v2 one it stands for."""
    spec = dict(data.get("spec") or {})
    out: dict[str, Any] = {
        "apiVersion": HPAS.api_version,
        "kind": HPAS.kind,
        "metadata": data.get("metadata") or {},
    }
    v2: dict[str, Any] = {k: spec[k] for k in ("scaleTargetRef", "minReplicas") if k in spec}
    v2["maxReplicas"] = spec.get("maxReplicas", 0)
    cpu = spec.get("targetCPUUtilizationPercentage")
    if cpu is not None:
        target = {"type": "Utilization", "averageUtilization": cpu}
        v2["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    out["spec"] = v2
    return out


def to_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """A stored (v2) HPA as autoscaling/v1 shows it."""
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    v1_spec = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
    for metric in spec.get("metrics") or []:
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        if resource.get("name") == "cpu" and "averageUtilization" in target:
            v1_spec["targetCPUUtilizationPercentage"] = target["averageUtilization"]
            break
    v1_status = {
        k: st[k]
        for k in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas")
        if k in st
    }
    v1_status.setdefault("currentReplicas", 0)
    v1_status.setdefault("desiredReplicas", 0)
    for current in st.get("currentMetrics") or []:
        resource = current.get("resource") or {}
        value = (resource.get("current") or {}).get("averageUtilization")
        if resource.get("name") == "cpu" and value is not None:
            v1_status["currentCPUUtilizationPercentage"] = value
            break
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": obj.get("metadata") or {},
        "spec": v1_spec,
        "status": v1_status,
    }


class AutoscalingV1Api:
    """The routes of autoscaling/v1 HorizontalPodAutoscalers over the v2 store."""

    def __init__(self, service: ResourcesService, decode: Any) -> None:
        self.service = service
        self._decode = decode
        """handlers.decode_object: the v2 message of a dict, 400 naming a bad field."""

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", PREFIX + "/{tail:.+}", self._serve)]

    async def _serve(self, request: web.Request) -> web.Response:
        name = ""
        try:
            namespace, name = self._target(request.match_info["tail"])
            verb = {
                ("GET", True): "get",
                ("GET", False): "list",
                ("POST", False): "create",
                ("PUT", True): "update",
                ("PATCH", True): "patch",
                ("DELETE", True): "delete",
            }.get((request.method, bool(name)))
            if verb is None:
                raise HttpError(
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                )
            body = await self._body(request) if verb in ("create", "update") else None
            if verb == "patch":
                body = await self._patched(request, namespace, name)
                verb = "update"
            if body is not None and verb == "create":
                name = str((body.get("metadata") or {}).get("name") or "")
            described, user = await self._authorize(request, verb, namespace, name)
            # Its list reads etcd whole, whatever else the query asks: only the
            # selectors it applies size the list's work estimate.
            q = request.query
            options = ListOptions(
                label_selector=q.get("labelSelector", ""), field_selector=q.get("fieldSelector", "")
            )
            async with self.service.gate.admit(
                verb,
                HPAS.resource,
                described,
                user,
                flowheaders.remember(request),
                options=options if verb == "list" else NO_OPTIONS,
            ):
                return await self._dispatch(request, verb, namespace, name, body)
        except (errors.ApiError, HttpError) as e:
            return status.respond(status.of_error(e, HPAS, name))

    @staticmethod
    def _target(tail: str) -> tuple[str, str]:
        parts = [p for p in tail.split("/") if p]
        namespace = ""
        if len(parts) >= 3 and parts[0] == "namespaces":
            namespace, parts = parts[1], parts[2:]
        if not parts or len(parts) > 2 or parts[0] != HPAS.resource:
            raise HttpError("NotFound", "the server could not find the requested resource")
        return namespace, parts[1] if len(parts) > 1 else ""

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        data = request_body(await request.read(), request.content_type)
        if not isinstance(data, dict):
            raise HttpError("BadRequest", "the request body is not an object")
        return data

    async def _patched(self, request: web.Request, namespace: str, name: str) -> dict[str, Any]:
        """The v1 object a PATCH makes of the stored one (merge, strategic merge or JSON
        patch; a v1 HPA has no keyed lists, so a strategic merge is a merge), carrying
        the stored resourceVersion so that the update is guarded as any PATCH is."""
        media = request.content_type
        if media == "application/apply-patch+yaml":
            raise HttpError(
                "UnsupportedMediaType",
                "server-side apply is served for autoscaling/v2 HorizontalPodAutoscalers only",
            )
        appliers = {
            "application/merge-patch+json": json_merge_patch,
            "application/strategic-merge-patch+json": strategic_merge_patch,
            "application/json-patch+json": json_patch,
        }
        apply = appliers.get(media)
        if apply is None:
            raise HttpError("UnsupportedMediaType", f"the media type {media!r} is not a patch")
        try:
            patch = json.loads(await request.read() or b"null")
        except ValueError as e:
            raise HttpError("BadRequest", f"the patch is not JSON: {e}") from None
        current = to_v1(encode(await self.service.registry.get(HPAS, namespace, name)))
        try:
            patched = apply(current, patch)
        except PatchError as e:
            raise errors.Invalid(str(e)) from None
        if not isinstance(patched, dict):
            raise HttpError("BadRequest", "the patched object is not an object")
        meta = patched.setdefault("metadata", {})
        meta["resourceVersion"] = current["metadata"].get("resourceVersion", "")
        return patched

    async def _authorize(
        self, request: web.Request, verb: str, namespace: str, name: str
    ) -> tuple[AccessRequest | None, UserInfo | None]:
        """The request and its user once allowed (None, None without access control)."""
        access = self.service.access
        if not access.enabled:
            return None, None
        user = await acting_user(access, request)
        described = AccessRequest(verb, HPAS, namespace, name)
        await access.authorize(described, user)
        return described, user

    async def _dispatch(
        self,
        request: web.Request,
        verb: str,
        namespace: str,
        name: str,
        body: dict[str, Any] | None,
    ) -> web.Response:
        registry = self.service.registry
        if verb == "get":
            return _json(to_v1(encode(await registry.get(HPAS, namespace, name))))
        if verb == "list":
            q = request.query
            page = await list_objects(
                self.service.etcd,
                HPAS,
                namespace,
                parse(q.get("labelSelector", ""), q.get("fieldSelector", "")),
            )
            return _json(
                {
                    "apiVersion": "autoscaling/v1",
                    "kind": "HorizontalPodAutoscalerList",
                    "metadata": {"resourceVersion": str(page.resource_version)},
                    "items": [to_v1(encode(o)) for o in page.items],
                }
            )
        if verb == "delete":
            deleted = await self.service.deleter.delete(HPAS, namespace, name)
            return _json(to_v1(encode(deleted)))
        assert body is not None
        # Go writes every empty field (metadata.selfLink, ...): drop those v2 does not have.
        v2 = kubeproto.prune(from_v1(body), HPAS.message.DESCRIPTOR)
        if verb == "update":
            current = encode(await registry.get(HPAS, namespace, name))
            if "behavior" in (current.get("spec") or {}):
                v2["spec"]["behavior"] = current["spec"]["behavior"]
            v2["metadata"] = {**v2["metadata"], "name": name}
            obj = self._decode(HPAS, v2)
            written = await registry.update(HPAS, namespace, obj.SerializeToString())
            return _json(to_v1(encode(written)))
        obj = self._decode(HPAS, v2)
        created = await registry.create(HPAS, namespace, obj.SerializeToString())
        return _json(to_v1(encode(created)), 201)


def _json(body: Any, code: int = 200) -> web.Response:
    return web.Response(status=code, text=json.dumps(body), content_type="application/json")
