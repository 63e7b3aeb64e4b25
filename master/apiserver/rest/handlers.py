"""The Kubernetes REST API over HTTP: paths, query parameters and bodies as kube-apiserver
takes them, served from the very registry, lister, deleter and watch that gRPC uses.

A request is parsed into its kind, namespace, name and subresource, its JSON, YAML or
protobuf body decoded into the kind's message (a mistyped field is a 400 naming the field;
an unknown one too under `fieldValidation=Strict`, else it is dropped, see
fieldvalidation.py), then handed to the same store calls as the gRPC
front-end: defaults, validation, strategies and conflicts cannot differ between the two.
PATCH reads the object, patches its Kubernetes-shaped dict (master/apiserver/patching.py)
and writes it back guarded by the resourceVersion it read, retrying a lost race unless the
patch pinned a resourceVersion itself. A watch from "" or "0" starts with an ADDED event per
existing object, then follows etcd from the revision of that list.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from client import errors
from client.codec import FieldError, from_dict
from client.kinds import COMPONENT_STATUSES, Kind, Object, UnknownKindError, by_resource, decode
from client.scale import as_kubernetes, is_scalable, scale_of
from client.timeouts import within
from master.apiserver import eviction
from master.apiserver.access import ANONYMOUS
from master.apiserver.access import Request as AccessRequest
from master.apiserver.admission import caller
from master.apiserver.auth.issuing import TokenIssuer
from master.apiserver.auth.user import UserInfo
from master.apiserver.componentstatus import DEPRECATION, not_allowed
from master.apiserver.customresources.conversion import Converter
from master.apiserver.customresources.serving import CustomResources
from master.apiserver.flowcontrol import debug as flowdebug
from master.apiserver.flowcontrol import gate
from master.apiserver.flowcontrol.estimate import NO_OPTIONS, ListOptions
from master.apiserver.listing import list_objects
from master.apiserver.patching import (
    PatchError,
    json_merge_patch,
    json_patch,
    strategic_merge_patch,
)
from master.apiserver.rest import (
    customobjects,
    fieldvalidation,
    flowheaders,
    gatedfields,
    openapi,
    openapiv2,
    podstreams,
    portforward,
    serverapply,
    status,
    tables,
)
from master.apiserver.rest.accessreviews import AccessReviewApi
from master.apiserver.rest.autoscalingv1 import AutoscalingV1Api
from master.apiserver.rest.bodies import request_body
from master.apiserver.rest.encoding import EncodedObjects, encode
from master.apiserver.rest.groups import (
    AGGREGATED,
    GIT_VERSION,
    aggregated,
    api_group_list,
    api_versions,
    group_version,
    resource_list,
    version_info,
    wants_aggregated,
)
from master.apiserver.rest.impersonation import acting_user, impersonation_of
from master.apiserver.rest.resourcemetrics import ResourceMetricsApi
from master.apiserver.rest.status import HttpError
from master.apiserver.selection import parse
from master.apiserver.service import ResourcesService, get_version
from master.apiserver.strategies import strategy_for
from master.apiserver.watchbatch import one_by_one

log = structlog.get_logger("apiserver.rest")

PATCH_RETRIES = 5
"""Attempts of a PATCH that lost the race to another writer before it gives up (409)."""
WATCH_TIMEOUT = (1800.0, 3600.0)
"""A watch with no timeoutSeconds ends after a random time in this range, as
kube-apiserver spreads its watches' ends so that clients do not re-list together."""
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
POD_STREAMS = {
    "log": podstreams.logs,
    "exec": podstreams.execute,
    "attach": podstreams.attach,
    "portforward": portforward.forward,
}
"""The pod subresources that stream from the pod's kubelet rather than from the store."""
OBJECT_NAME = web.RequestKey("tugboat.object_name", str)
WARNINGS = web.RequestKey("tugboat.warnings", list)
CALLER = web.RequestKey("tugboat.caller", UserInfo)
"""Who made the request (system:anonymous with authentication off)."""
"""What the response's Warning headers will say (fields dropped by fieldValidation=Warn)."""
"""Where a create keeps its object's name on the request, for the Status of a refusal."""


@dataclass(frozen=True)
class Target:
    """What a resource path names."""

    kind: Kind
    namespace: str
    name: str
    subresource: str


def _own_part(t: Target) -> bool:
    """A subresource its kind's strategy names (a pod's ephemeralcontainers): it reads the
    whole object and writes only its part."""
    return t.subresource in strategy_for(t.kind).subresources


def _not_found_path() -> HttpError:
    return HttpError("NotFound", "the server could not find the requested resource")


def target_of(group: str, version: str, tail: str) -> Target:
    """The kind, namespace, name and subresource of `/api[s]/<gv>/<tail>`."""
    parts = [p for p in tail.split("/") if p]
    namespace = ""
    if len(parts) >= 3 and parts[0] == "namespaces" and parts[2] not in ("status", "finalize"):
        namespace, parts = parts[1], parts[2:]
    if not parts or len(parts) > 3:
        raise _not_found_path()
    try:
        kind = by_resource(parts[0])
    except UnknownKindError:
        raise _not_found_path() from None
    if (
        group_version(kind) != (group, version) and not customobjects.serves(kind, group, version)
    ) or (namespace and not kind.namespaced):
        raise _not_found_path()
    name = parts[1] if len(parts) > 1 else ""
    sub = parts[2] if len(parts) > 2 else ""
    return Target(kind, namespace, name, sub)


def _query_bool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


_INT64_END = 2**63


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    if any(v != "All" for v in values):
        raise HttpError("BadRequest", f"dryRun: Unsupported value: {values[0]!r}: supported: All")
    return bool(values)


def decode_object(kind: Kind, data: Any) -> Object:
    """The kind's message from a dict; 400 naming the field, as Strict field validation does."""
    version = kind.api_version.rpartition("/")[2]
    data = customobjects.to_storage_version(kind, data)
    try:
        obj: Object = from_dict(kind.message, data)  # type: ignore[assignment]
    except FieldError as e:
        what = f'{kind.kind} in version "{version}" cannot be handled as a {kind.kind}'
        if e.detail == "unknown field":
            raise HttpError(
                "BadRequest", f'{what}: strict decoding error: unknown field "{e.path}"'
            ) from None
        raise HttpError("BadRequest", f"{what}: {e}") from None
    return obj


def _decode(request: web.Request, kind: Kind, data: Any) -> Object:
    """decode_object after the request's fieldValidation: unless Strict, unknown fields
    are dropped first (named in Warning headers under Warn)."""
    mode = fieldvalidation.mode_of(request.query)
    if not customobjects.is_custom(kind) and isinstance(data, dict):
        request.setdefault(WARNINGS, []).extend(gatedfields.drop_gated(kind, data))
    if mode != "Strict" and not customobjects.is_custom(kind):
        data, dropped = fieldvalidation.drop_unknown(data, kind.message.DESCRIPTOR)
        if mode == "Warn":
            request.setdefault(WARNINGS, []).extend(f'unknown field "{p}"' for p in dropped)
    return decode_object(kind, data)


def _table(request: web.Request) -> bool:
    return tables.wants_table(request.headers.getall("Accept", []))


def _json(body: Any, code: int = 200, content_type: str = JSON) -> web.Response:
    return web.Response(status=code, text=json.dumps(body), content_type=content_type)


class RestApi:
    """The HTTP routes of the Kubernetes API, over one API server's store."""

    def __init__(
        self,
        service: ResourcesService,
        address: str = "",
        issuer: TokenIssuer | None = None,
        *,
        custom: CustomResources | None = None,
    ) -> None:
        self.service = service
        self.custom = custom
        """What serves custom resources: asked again before a path is a 404."""
        self.address = address
        self.issuer = issuer
        self.encoded = EncodedObjects()
        self.converter = Converter(service.registry.stored)

    def routes(self) -> list[web.RouteDef]:
        """Every route, for the API server's aiohttp application."""
        return [
            web.get("/version", self._version),
            web.get("/api", self._core_discovery),
            web.get("/apis", self._groups_discovery),
            web.get("/api/{version}", self._resources),
            web.get("/apis/{group}/{version}", self._resources),
            web.get("/openapi/v2", self._openapi_v2),
            web.get("/openapi/v3", self._openapi_index),
            web.get("/openapi/v3/{path:.+}", self._openapi_document),
            web.get(flowdebug.PRIORITY_LEVELS, self._flowcontrol_dump),
            web.get(flowdebug.QUEUES, self._flowcontrol_dump),
            web.get(flowdebug.REQUESTS, self._flowcontrol_dump),
            # metrics.k8s.io is not a stored group: its routes go before the generic ones.
            *ResourceMetricsApi(self.service).routes(),
            # Reviews are asked, not stored (kubectl auth can-i, whoami).
            *AccessReviewApi(self.service.access).routes(),
            # autoscaling/v1 HPAs are a converted view of the stored v2 ones.
            *AutoscalingV1Api(self.service, decode_object).routes(),
            web.route("*", "/api/{version}/{tail:.+}", self._resource),
            web.route("*", "/apis/{group}/{version}/{tail:.+}", self._resource),
        ]

    # Discovery ----------------------------------------------------------------------------

    async def _version(self, _request: web.Request) -> web.Response:
        return _json(version_info())

    async def _core_discovery(self, request: web.Request) -> web.Response:
        if (refused := await self._nonresource(request)) is not None:
            return refused
        if wants_aggregated(request.headers.getall("Accept", [])):
            return web.Response(
                text=json.dumps(aggregated(core=True)), headers={"Content-Type": AGGREGATED}
            )
        return _json(api_versions(self.address or request.host))

    async def _groups_discovery(self, request: web.Request) -> web.Response:
        if (refused := await self._nonresource(request)) is not None:
            return refused
        if self.custom is not None:
            # The group list names no group, so a miss cannot tell that a CRD is new (as
            # _resources and _target can): read the CRDs on every call. A CRD stored
            # (Established) is then in every server's discovery, which is what kubectl
            # maps a kind by after `kubectl wait --for=condition=Established`.
            await self.custom.refresh()
        if wants_aggregated(request.headers.getall("Accept", [])):
            return web.Response(
                text=json.dumps(aggregated(core=False)), headers={"Content-Type": AGGREGATED}
            )
        return _json(api_group_list())

    async def _resources(self, request: web.Request) -> web.Response:
        if (refused := await self._nonresource(request)) is not None:
            return refused
        group, version = request.match_info.get("group", ""), request.match_info["version"]
        found = resource_list(group, version)
        if found is None and self.custom is not None:
            await self.custom.refresh()
            # A CRD created a moment ago, its watch event still on the way: its group
            # is served at once here as its objects' paths are (_target).
            found = resource_list(group, version)
        if found is None:
            return status.respond(status.of_error(_not_found_path()))
        return _json(found)

    async def _openapi_v2(self, request: web.Request) -> web.Response:
        if (refused := await self._nonresource(request)) is not None:
            return refused
        if openapiv2.wants_protobuf(request.headers.get("Accept", "")):
            body = openapiv2.protobuf(GIT_VERSION)
            return web.Response(body=body, content_type=openapiv2.PROTOBUF_ANSWER)
        return web.Response(text=openapiv2.document(GIT_VERSION), content_type=JSON)

    async def _openapi_index(self, request: web.Request) -> web.Response:
        if (refused := await self._nonresource(request)) is not None:
            return refused
        return _json(openapi.index())

    async def _openapi_document(self, request: web.Request) -> web.Response:
        if (refused := await self._nonresource(request)) is not None:
            return refused
        text = openapi.documents().get(request.match_info["path"])
        if text is None:
            return status.respond(status.of_error(_not_found_path()))
        return web.Response(text=text, content_type=JSON)

    # API Priority and Fairness' debug dumps -------------------------------------------------

    async def _flowcontrol_dump(self, request: web.Request) -> web.Response:
        """kube-apiserver's text tables of the dispatcher's levels, queues and requests;
        a 404 where flow control is off, as where kube-apiserver runs without it."""
        if (refused := await self._nonresource(request)) is not None:
            return refused
        dispatcher = self.service.gate.dispatcher
        if dispatcher is None:
            return status.respond(status.of_error(_not_found_path()))
        levels = dispatcher.snapshot()
        if request.path == flowdebug.PRIORITY_LEVELS:
            text = flowdebug.dump_priority_levels(levels)
        elif request.path == flowdebug.QUEUES:
            text = flowdebug.dump_queues(levels)
        else:
            details = bool(request.query.get(flowdebug.INCLUDE_REQUEST_DETAILS, ""))
            text = flowdebug.dump_requests(levels, details=details)
        return web.Response(text=text, content_type="text/plain")

    # Resources ----------------------------------------------------------------------------

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        target: Target | None = None
        verb, code = request.method.lower(), "OK"
        user: UserInfo | None = None
        try:
            target = await self._target(request)
            if target.kind.resource == "pods" and target.subresource in POD_STREAMS:
                verb = target.subresource
                # As kube-apiserver: reading a log is `get pods/log`, exec and port-forward
                # are `create` (whatever the HTTP method of their WebSocket).
                user = await self._authenticate(request)
                await self._authorize(request, target, "get" if verb == "log" else "create", user)
                stream = POD_STREAMS[target.subresource]
                return await stream(request, self.service.registry, target.namespace, target.name)
            verb = self._verb(request, target)
            user = await self._authenticate(request)
            request[CALLER] = user or ANONYMOUS
            await self._authorize(request, await self._named(request, target, verb), verb, user)
            # Admission policies read the user and may warn (admission/caller.py).
            caller.CALLER.set(user or ANONYMOUS)
            caller.WARNINGS.set(request.setdefault(WARNINGS, []))
            described = None if user is None else self._described(request, target, verb)
            if verb in ("update", "patch") and request.can_read_body:
                # Read before a seat is taken: a client sending its body slowly must not
                # hold its priority level's seat meanwhile (a create's is read already).
                await request.read()
            # A list's or a watch's options size its work estimate under APF.
            listed = verb in ("list", "watch")
            async with self.service.gate.admit(
                verb,
                target.kind.resource,
                described,
                user,
                flowheaders.remember(request),
                options=ListOptions.from_query(request.query) if listed else NO_OPTIONS,
            ):
                response = await self._dispatch(verb, request, target)
            for warning in request.get(WARNINGS, []):
                # RFC 7234's quoted-string: JSON's escaping of quotes and backslashes.
                response.headers.add("Warning", f"299 - {json.dumps(warning)}")
            return response
        except (errors.ApiError, HttpError) as e:
            code = e.code.name if isinstance(e, errors.ApiError) else e.reason
            name = target.name if target and target.name else request.get(OBJECT_NAME, "")
            found = status.of_error(e, target.kind if target else None, name)
            if isinstance(e, errors.Unavailable):
                log.warning("request failed", key=request.path, verb=verb, error=e.message)
            answer = status.respond(found)
            if isinstance(e, errors.TooManyRequests) and e.retry_after > 0:
                answer.headers["Retry-After"] = str(int(e.retry_after))
            elif isinstance(e, errors.TooManyRequests):
                # A refusal that waiting a moment will not mend (a disruption budget):
                # as Kubernetes, no Retry-After, so the client decides (kubectl drain: 5 s).
                answer.headers.popall("Retry-After", None)
            return answer
        except web.HTTPRequestEntityTooLarge as e:
            # aiohttp's refusal of a body over the application's client_max_size.
            code = "RequestEntityTooLarge"
            return status.respond(status.status_object(code, e.text or "Request too large"))
        except Exception as e:
            code = "INTERNAL"
            log.exception("request crashed", key=request.path, verb=verb)
            return status.respond(status.of_error(e))
        finally:
            resource = target.kind.resource if target else "unknown"
            metrics = self.service.metrics
            metrics.requests.labels(verb, resource, code).inc()
            elapsed = time.perf_counter() - started
            if verb not in ("watch", "log", "exec", "attach", "portforward"):
                metrics.request_duration.labels(verb, resource).observe(elapsed)
            if self.service.audit is not None:
                self.service.audit.record(
                    frontend="http",
                    verb=verb,
                    resource=resource,
                    request=AccessRequest(
                        verb, target.kind, target.namespace, target.name, target.subresource
                    )
                    if target
                    else None,
                    user=user,
                    code=code,
                    seconds=elapsed,
                )

    async def _target(self, request: web.Request) -> Target:
        """What the path names; a CRD created a moment ago (its watch event still on
        the way) is read before the path is a 404. A custom kind's objects are written
        out in the version the path names (customobjects.py)."""
        group, version = request.match_info.get("group", ""), request.match_info["version"]
        tail = request.match_info["tail"]
        try:
            target = target_of(group, version, tail)
        except HttpError:
            if self.custom is None:
                raise
            await self.custom.refresh()
            target = target_of(group, version, tail)
        customobjects.serve_as(target.kind, group, version)
        return target

    async def _authenticate(self, request: web.Request) -> UserInfo | None:
        """The user the request runs as; None when access control is off and the request
        asks to be no one in particular."""
        access = self.service.access
        if not access.enabled and impersonation_of(request) is None:
            return None
        return await acting_user(access, request)

    @staticmethod
    def _described(request: web.Request, t: Target, verb: str) -> AccessRequest:
        return AccessRequest(
            verb,
            t.kind,
            t.namespace,
            t.name,
            subresource=t.subresource,
            field_selector=request.query.get("fieldSelector", ""),
        )

    async def _authorize(
        self, request: web.Request, t: Target, verb: str, user: UserInfo | None
    ) -> None:
        if user is None:
            return
        await self.service.access.authorize(self._described(request, t, verb), user)

    async def _named(self, request: web.Request, t: Target, verb: str) -> Target:
        """For a create, the target with the body's name (the node authorizer needs it)."""
        if verb != "create" or not self.service.access.enabled or not request.can_read_body:
            return t
        try:
            body = request_body(await request.read(), request.content_type, t.kind)
        except HttpError:
            return t
        name = body.get("metadata", {}).get("name", "") if isinstance(body, dict) else ""
        return Target(t.kind, t.namespace, str(name), t.subresource) if name else t

    async def _nonresource(self, request: web.Request) -> web.Response | None:
        """None when the caller may read this discovery path; else the refusal."""
        access = self.service.access
        if not access.enabled:
            return None
        try:
            user = await acting_user(access, request)
            await access.authorize(AccessRequest("get", path=request.path), user)
        except errors.ApiError as e:
            return status.respond(status.of_error(e))
        return None

    @staticmethod
    def _verb(request: web.Request, target: Target) -> str:
        method, named = request.method, bool(target.name)
        if method == "GET":
            if named:
                return "get"
            return "watch" if _query_bool(request, "watch") else "list"
        special = {"eviction": "pods", "token": "serviceaccounts"}
        if method == "POST" and named and target.subresource in special:
            if target.kind.resource != special[target.subresource]:
                raise _not_found_path()
            return "create"
        verbs = {
            ("POST", False): "create",
            ("PUT", True): "update",
            ("PATCH", True): "patch",
            ("DELETE", True): "delete",
            ("DELETE", False): "deletecollection",
        }
        verb = verbs.get((method, named))
        if verb is None:
            raise HttpError(
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        if target.subresource not in ("", "status", "scale") and not _own_part(target):
            raise _not_found_path()
        if target.subresource and verb in ("create", "delete", "deletecollection"):
            raise HttpError("MethodNotAllowed", f"{target.subresource} does not allow {method}")
        return verb

    async def _dispatch(self, verb: str, request: web.Request, t: Target) -> web.StreamResponse:
        if t.kind is COMPONENT_STATUSES:
            return await self._component_statuses(verb, request, t)
        if verb == "watch":
            return await self._watch(request, t)
        if verb == "list":
            return await self._list(request, t)
        if verb == "get":
            # kubectl and client-go ask some GETs at resourceVersion=0: the watch cache's.
            version = get_version(request.query.get("resourceVersion", ""))
            obj = await self.service.registry.get(t.kind, t.namespace, t.name, version)
            if t.subresource == "scale":
                if not is_scalable(t.kind) and not customobjects.scalable(t.kind):
                    raise _not_found_path()
                return _json(self._scale_of(t, obj))
            if t.subresource not in ("", "status") and not _own_part(t):
                raise _not_found_path()
            obj = await self._out(t, obj)
            if _table(request):
                return _json(self._table(request, t, [obj], obj.metadata.resource_version))
            return _json(encode(obj))
        if verb == "create" and t.subresource == "eviction":
            return await self._evict(request, t)
        if verb == "create" and t.subresource == "token":
            return await self._token(request, t)
        if verb == "create":
            data = request_body(await request.read(), request.content_type, t.kind)
            if isinstance(data, dict):
                self._record(request, t, None, data)
            obj = _decode(request, t.kind, await self._in(t, data))
            request[OBJECT_NAME] = obj.metadata.name
            created = await self.service.registry.create(
                t.kind, t.namespace, obj.SerializeToString(), dry_run=_dry_run(request)
            )
            return _json(encode(await self._out(t, created)), 201)
        if verb == "update":
            # /scale carries a Scale; /status and a kind's own parts carry the object
            # (kubectl certificate approve sends a CSR to /approval in protobuf).
            data = request_body(
                await request.read(),
                request.content_type,
                None if t.subresource == "scale" else t.kind,
            )
            if t.subresource == "scale":
                return await self._write_scale(request, t, lambda _cur: data)
            if not t.subresource and isinstance(data, dict):
                current = await self.service.registry.get(t.kind, t.namespace, t.name)
                self._record(request, t, encode(await self._out(t, current)), data)
            return _json(encode(await self._out(t, await self._write(request, t, data))))
        if verb == "patch":
            return await self._patch(request, t)
        if verb == "delete":
            return await self._delete(request, t)
        return await self._delete_collection(request, t)

    async def _component_statuses(self, verb: str, request: web.Request, t: Target) -> web.Response:
        """Get and list of ComponentStatuses, probed now (componentstatus.py); every
        other verb refused, as kube-apiserver serves only get and list of them."""
        if verb not in ("get", "list"):
            raise not_allowed(verb)
        if t.subresource:
            raise _not_found_path()
        request.setdefault(WARNINGS, []).append(DEPRECATION)
        statuses = self.service.component_statuses
        if verb == "get":
            found = [await statuses.get(t.name)]
        else:
            q = request.query
            found = await statuses.all(
                parse(q.get("labelSelector", ""), q.get("fieldSelector", ""), t.kind)
            )
        if _table(request):
            return _json(self._table(request, t, list(found), ""))
        if verb == "get":
            return _json(encode(found[0]))
        items = [encode(s) for s in found]
        return _json(
            {"kind": "ComponentStatusList", "apiVersion": "v1", "metadata": {}, "items": items}
        )

    async def _write(self, request: web.Request, t: Target, data: Any) -> Object:
        """Update with `data`, a body in the request's version; the object as stored."""
        obj = _decode(request, t.kind, await self._in(t, data))
        if obj.metadata.name and obj.metadata.name != t.name:
            raise HttpError(
                "BadRequest",
                f"the name of the object ({obj.metadata.name}) does not match the name on the "
                f"URL ({t.name})",
            )
        obj.metadata.name = t.name
        return await self.service.registry.update(
            t.kind,
            t.namespace,
            obj.SerializeToString(),
            subresource=t.subresource,
            dry_run=_dry_run(request),
        )

    async def _out(self, t: Target, obj: Object) -> Object:
        """One object as the request's version says (customobjects.served)."""
        [served] = await customobjects.served(self.converter, t.kind, [obj])
        return served

    async def _in(self, t: Target, data: Any) -> Any:
        """A body in the request's version, in the storage version (customobjects.as_stored)."""
        return await customobjects.as_stored(self.converter, t.kind, data)

    # List and watch -----------------------------------------------------------------------

    async def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        try:
            limit = int(q.get("limit", "0") or 0)
        except ValueError:
            limit = _INT64_END  # refused below, in the same words
        if not -_INT64_END <= limit < _INT64_END:
            # Kubernetes' limit is an int64; a larger one would reach etcd and fail there.
            raise errors.Invalid(
                f"limit: Invalid value: {q['limit']!r}: must be a 64-bit integer"
            )
        selection = parse(q.get("labelSelector", ""), q.get("fieldSelector", ""), t.kind)
        page = await self.service.watch_cache.serve_list(
            t.kind,
            t.namespace,
            selection,
            limit=limit,
            continue_token=q.get("continue", ""),
            resource_version=q.get("resourceVersion", ""),
            match=q.get("resourceVersionMatch", ""),
        )
        items = await customobjects.served(self.converter, t.kind, page.items)
        if _table(request):
            return _json(
                self._table(
                    request,
                    t,
                    items,
                    str(page.resource_version),
                    continue_token=page.continue_token,
                )
            )
        meta: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            meta["continue"] = page.continue_token
            if page.remaining:
                meta["remainingItemCount"] = page.remaining
        return web.Response(text=self.encoded.list_text(t.kind, items, meta), content_type=JSON)

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        selection = parse(q.get("labelSelector", ""), q.get("fieldSelector", ""), t.kind)
        if t.name:
            selection = parse(
                q.get("labelSelector", ""),
                ",".join(filter(None, [q.get("fieldSelector", ""), f"metadata.name={t.name}"])),
                t.kind,
            )
        try:
            timeout = float(q["timeoutSeconds"]) if "timeoutSeconds" in q else None
        except ValueError:
            raise errors.Invalid(
                f"timeoutSeconds: Invalid value: {q['timeoutSeconds']!r}"
            ) from None
        if timeout is None:
            timeout = random.uniform(*WATCH_TIMEOUT)
        bookmarks = _query_bool(request, "allowWatchBookmarks")
        since = q.get("resourceVersion", "")
        initial: list[Object] = []
        if since in ("", "0") or _query_bool(request, "sendInitialEvents"):
            initial, since = await self.service.watch_cache.initial(
                t.kind, t.namespace, selection, "0" if since == "0" else ""
            )
        # Refuse a bad resourceVersion before the 200 goes out; the etcd watch itself starts
        # with the stream.
        if not since.isdigit():
            raise errors.Invalid(
                f"resourceVersion: Invalid value: {since!r}: must be a non-negative integer"
            )
        # Converted before the 200 too: a conversion webhook that is down is the
        # request's 500, not a stream broken after its first line.
        initial = await customobjects.served(self.converter, t.kind, initial)
        # The list is read: the stream needs no seat of API Priority and Fairness.
        gate.initialised()
        events = one_by_one(
            self.service.watch_cache.watch_batches(
                t.kind,
                t.namespace,
                selection,
                resource_version=since,
                bookmark_every=self.service.bookmark_every if bookmarks else 0.0,
            )
        )
        response = web.StreamResponse(headers={"Content-Type": JSON})
        await response.prepare(request)
        gauge = self.service.metrics.watchers.labels(t.kind.resource)
        gauge.inc()
        try:
            await within(
                self._stream(response, t, events, initial, since, bookmarks, request), timeout
            )
        except (TimeoutError, ConnectionResetError):
            pass  # the watch's time is up, or its client went away: both end it
        finally:
            gauge.dec()
            await events.aclose()
        return response

    async def _stream(
        self,
        response: web.StreamResponse,
        t: Target,
        events: AsyncIterator[Any],
        initial: list[Object],
        since: str,
        bookmarks: bool,
        request: web.Request,
    ) -> None:
        as_table = _table(request)
        first = True

        async def send(kind: str, body: dict[str, Any]) -> None:
            await response.write((json.dumps({"type": kind, "object": body}) + "\n").encode())

        async def send_object(kind: str, obj: Object) -> None:
            nonlocal first
            if as_table and kind != "BOOKMARK":
                # Column definitions once, in the first event, as kube-apiserver sends them.
                body = self._table(
                    request, t, [obj], obj.metadata.resource_version, with_columns=first
                )
                first = False
                await send(kind, body)
            else:
                text = self.encoded.text(t.kind, obj)
                await response.write(f'{{"type": "{kind}", "object": {text}}}\n'.encode())

        for obj in initial:
            await send_object("ADDED", obj)
        if bookmarks and _query_bool(request, "sendInitialEvents"):
            mark = t.kind.new()
            mark.metadata.resource_version = since
            mark.metadata.annotations[INITIAL_EVENTS_END] = "true"
            await send("BOOKMARK", encode(mark))
        try:
            async for event in events:
                obj = decode(t.kind.resource, event.object)
                if event.type != "BOOKMARK":  # only a resourceVersion: nothing to convert
                    obj = await self._out(t, obj)
                await send_object(event.type, obj)
        except errors.ApiError as e:
            await send("ERROR", status.of_error(e, t.kind, t.name))

    @staticmethod
    def _table(
        request: web.Request,
        t: Target,
        objects: list[Object],
        resource_version: str,
        *,
        with_columns: bool = True,
        continue_token: str = "",
    ) -> dict[str, Any]:
        return tables.table(
            t.kind,
            objects,
            resource_version=resource_version,
            include=request.query.get("includeObject", "Metadata"),
            encode=encode,
            with_columns=with_columns,
            continue_token=continue_token,
        )

    # Patch --------------------------------------------------------------------------------

    async def _patch(self, request: web.Request, t: Target) -> web.Response:
        media = request.content_type
        if media == STRATEGIC_PATCH and customobjects.is_custom(t.kind):
            # As kube-apiserver: custom kinds have no merge keys to merge lists by.
            raise HttpError(
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}",
            )
        patch = request_body(await request.read(), media)
        if t.subresource == "scale":
            return await self._write_scale(request, t, lambda cur: json_merge_patch(cur, patch))
        registry = self.service.registry
        for _ in range(PATCH_RETRIES):
            try:
                current = await registry.get(t.kind, t.namespace, t.name)
            except errors.NotFound:
                if media != APPLY_PATCH or t.subresource:
                    raise
                # Server-side apply creates what does not exist yet.
                applied = await self._in(t, self._apply(request, t, None, patch))
                obj = _decode(request, t.kind, applied)
                created = await registry.create(
                    t.kind, t.namespace, obj.SerializeToString(), dry_run=_dry_run(request)
                )
                return _json(encode(await self._out(t, created)), 201)
            live = encode(await self._out(t, current))
            try:
                if media == MERGE_PATCH:
                    patched = json_merge_patch(live, patch)
                elif media == JSON_PATCH:
                    patched = json_patch(live, patch)
                elif media == STRATEGIC_PATCH:
                    patched = strategic_merge_patch(live, patch)
                elif media == APPLY_PATCH:
                    patched = self._apply(request, t, live, patch)
                else:
                    raise HttpError(
                        "UnsupportedMediaType",
                        f"the body of the request was in an unknown format - accepted media "
                        f"types include: {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_PATCH}, "
                        f"{APPLY_PATCH}",
                    )
            except PatchError as e:
                raise errors.Invalid(f"the patch could not be applied: {e}") from None
            if not isinstance(patched, dict):
                raise HttpError("BadRequest", "the patched object is not an object")
            if media != APPLY_PATCH:
                self._record(request, t, live, patched)
            meta = patched.setdefault("metadata", {})
            pinned = _pinned_version(patch)
            meta["resourceVersion"] = pinned or current.metadata.resource_version
            try:
                written = await self._write(request, t, patched)
            except errors.Conflict:
                if pinned:
                    raise
                continue
            return _json(encode(await self._out(t, written)))
        raise errors.Conflict(
            f'Operation cannot be fulfilled on {t.kind.resource} "{t.name}": the object kept '
            "changing while it was patched; try again"
        )

    @staticmethod
    def _apply(request: web.Request, t: Target, live: Any, applied: Any) -> dict[str, Any]:
        if not isinstance(applied, dict):
            raise HttpError("BadRequest", "an apply configuration is an object")
        return serverapply.apply(
            live,
            applied,
            manager=request.query.get("fieldManager", ""),
            force=_query_bool(request, "force"),
            api_version=_request_version(t),
        )

    @staticmethod
    def _record(request: web.Request, t: Target, old: Any, new: dict[str, Any]) -> None:
        """Note in `new`'s managedFields what this request's manager changed."""
        serverapply.record_update(
            old,
            new,
            manager=serverapply.manager_of(request.query, request.headers.get("User-Agent", "")),
            api_version=_request_version(t),
            subresource=t.subresource,
        )

    # Scale --------------------------------------------------------------------------------

    @staticmethod
    def _scale_of(t: Target, obj: Any) -> dict[str, Any]:
        if customobjects.scalable(t.kind):
            return customobjects.scale_view(t.kind, obj)  # the paths its CRD names
        # The generic view (client/scale.py): any kind with spec.replicas and a selector.
        return as_kubernetes(scale_of(obj))

    async def _write_scale(self, request: web.Request, t: Target, change: Any) -> web.Response:
        if not is_scalable(t.kind) and not customobjects.scalable(t.kind):
            raise _not_found_path()
        registry = self.service.registry
        for _ in range(PATCH_RETRIES):
            current: Any = await registry.get(t.kind, t.namespace, t.name)
            scale = change(self._scale_of(t, current))
            replicas = scale.get("spec", {}).get("replicas") if isinstance(scale, dict) else None
            if not isinstance(replicas, int) or isinstance(replicas, bool):
                raise errors.Invalid(
                    f"spec.replicas: Invalid value: {replicas!r}: must be an integer",
                    [("spec.replicas", f"Invalid value: {replicas!r}: must be an integer")],
                )
            before = encode(current)
            if customobjects.scalable(t.kind):
                customobjects.set_replicas(t.kind, current, replicas)
            else:
                current.spec.replicas = replicas
            after = encode(current)
            self._record(request, t, before, after)
            current = decode_object(t.kind, after)
            try:
                written = await registry.update(
                    t.kind, t.namespace, current.SerializeToString(), dry_run=_dry_run(request)
                )
            except errors.Conflict:
                continue
            return _json(self._scale_of(t, written))
        raise errors.Conflict(f'{t.kind.resource} "{t.name}" kept changing while it was scaled')

    # Delete -------------------------------------------------------------------------------

    @staticmethod
    async def _delete_options(request: web.Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                found = request_body(raw, request.content_type or JSON)
                if isinstance(found, dict):
                    options.update(found)
        q = request.query
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        if "gracePeriodSeconds" in q:
            try:
                options["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
            except ValueError:
                raise errors.Invalid(
                    f"gracePeriodSeconds: Invalid value: {q['gracePeriodSeconds']!r}"
                ) from None
        return options

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        deleted = await self._delete_with(t, await self._delete_options(request))
        return _json(encode(await self._out(t, deleted)))

    async def _delete_with(self, t: Target, options: dict[str, Any]) -> Object:
        """Delete the named object as DeleteOptions (a dict in Kubernetes' JSON) say."""
        preconditions = options.get("preconditions") or {}
        return await self.service.deleter.delete(
            t.kind,
            t.namespace,
            t.name,
            grace_period_seconds=options.get("gracePeriodSeconds"),
            propagation_policy=options.get("propagationPolicy", "") or "",
            precondition_uid=preconditions.get("uid", "") or "",
            precondition_resource_version=preconditions.get("resourceVersion", "") or "",
        )

    async def _evict(self, request: web.Request, t: Target) -> web.Response:
        """`POST pods/NAME/eviction` (policy/v1 Eviction): the pod's PodDisruptionBudget
        spent (eviction.py; a 429 when it allows no disruption now), then a graceful
        delete with the eviction's deleteOptions; a missing pod is a 404."""
        data = request_body(await request.read(), request.content_type or JSON)
        if not isinstance(data, dict) or data.get("kind", "Eviction") != "Eviction":
            raise HttpError("BadRequest", "the body of an eviction must be a policy/v1 Eviction")
        named = (data.get("metadata") or {}).get("name") or t.name
        if named != t.name:
            raise HttpError(
                "BadRequest",
                f"the name of the eviction ({named}) does not match the pod's ({t.name})",
            )
        await eviction.admit(self.service.registry, t.namespace, t.name)
        await self._delete_with(t, data.get("deleteOptions") or {})
        log.info("pod evicted", key=f"{t.namespace}/{t.name}")
        return _json(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
             "code": 201},
            201,
        )  # fmt: skip

    async def _token(self, request: web.Request, t: Target) -> web.Response:
        """`POST serviceaccounts/NAME/token` (authentication.k8s.io/v1 TokenRequest), as
        `kubectl create token` sends it; a bound object may only be a Pod."""
        if self.issuer is None:
            raise HttpError("NotFound", "this API server issues no ServiceAccount tokens")
        data = request_body(await request.read(), request.content_type or JSON)
        spec = (data.get("spec") if isinstance(data, dict) else None) or {}
        bound = spec.get("boundObjectRef") or {}
        if bound and bound.get("kind") != "Pod":
            raise errors.Invalid(
                f'spec.boundObjectRef.kind: Unsupported value: "{bound.get("kind")}": '
                'supported values: "Pod"'
            )
        issued = await self.issuer.issue(
            request.get(CALLER) or ANONYMOUS,
            t.namespace,
            t.name,
            expiration_seconds=int(spec.get("expirationSeconds") or 0),
            pod_name=str(bound.get("name") or ""),
            pod_uid=str(bound.get("uid") or ""),
            audiences=[str(a) for a in spec.get("audiences") or []],
        )
        answer = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"name": t.name, "namespace": t.namespace},
            "spec": spec,
            "status": {
                "token": issued.token,
                "expirationTimestamp": issued.expiration_timestamp,
            },
        }
        return _json(answer, 201)

    async def _delete_collection(self, request: web.Request, t: Target) -> web.Response:
        options = await self._delete_options(request)
        q = request.query
        page = await list_objects(
            self.service.etcd,
            t.kind,
            t.namespace,
            parse(q.get("labelSelector", ""), q.get("fieldSelector", ""), t.kind),
        )
        deleted = []
        for obj in page.items:
            try:
                deleted.append(
                    await self.service.deleter.delete(
                        t.kind,
                        obj.metadata.namespace,
                        obj.metadata.name,
                        grace_period_seconds=options.get("gracePeriodSeconds"),
                        propagation_policy=options.get("propagationPolicy", "") or "",
                    )
                )
            except errors.NotFound:
                continue
        return _json(
            {
                "apiVersion": t.kind.api_version,
                "kind": f"{t.kind.kind}List",
                "metadata": {},
                "items": [
                    encode(o) for o in await customobjects.served(self.converter, t.kind, deleted)
                ],
            }
        )


def _request_version(t: Target) -> str:
    """The apiVersion the request speaks, which managedFields record (a custom kind may be
    written through another served version than the stored one)."""
    return customobjects.SERVED_AS.get() or t.kind.api_version


def _pinned_version(patch: Any) -> str:
    """The resourceVersion a merge or strategic patch sets itself (an optimistic lock)."""
    if isinstance(patch, dict):
        meta = patch.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("resourceVersion"), str):
            return str(meta["resourceVersion"])
    return ""
