"""The gRPC face of the API server: `tugboat.v1.Resources` over the registry.

Each handler names the kind, calls the verb, and turns an ApiError into the gRPC status
of the same meaning; every request is counted and timed by verb, resource and code.
"""

from __future__ import annotations

import collections
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import grpc
import structlog

from client import errors, lanes
from client.kinds import COMPONENT_STATUSES, Kind, Object, UnknownKindError, by_resource
from master.apiserver import eviction
from master.apiserver.access import Access
from master.apiserver.access import Request as AccessRequest
from master.apiserver.admission import caller
from master.apiserver.audit import AuditLog
from master.apiserver.auth.peers import grpc_caller
from master.apiserver.auth.user import UserInfo
from master.apiserver.componentstatus import ComponentStatuses, not_allowed
from master.apiserver.deletion import Deleter
from master.apiserver.etcd import Etcd
from master.apiserver.flowcontrol.dispatcher import Dispatcher
from master.apiserver.flowcontrol.estimate import NO_OPTIONS, ListOptions
from master.apiserver.flowcontrol.gate import RequestGate
from master.apiserver.inflight import InflightLimiter
from master.apiserver.metrics import ApiServerMetrics
from master.apiserver.registry import Registry
from master.apiserver.requests import decode_request
from master.apiserver.selection import parse
from master.apiserver.watchbatch import packed, take
from master.apiserver.watchcache import WatchCache
from proto import api_pb2, api_pb2_grpc

log = structlog.get_logger("apiserver.service")

T = TypeVar("T")


def _kind(resource: str) -> Kind:
    try:
        return by_resource(resource)
    except UnknownKindError as e:
        raise errors.NotFound(str(e)) from None


def _named(verb: str, request: api_pb2.GetRequest | api_pb2.DeleteRequest) -> AccessRequest:
    """The access asked by a request that names its object (Get, Delete)."""
    return AccessRequest(verb, _kind(request.resource), request.namespace, request.name)


def get_version(text: str) -> str:
    """A GET's resourceVersion: "", "0" or a revision; Invalid naming the field otherwise,
    as the REST list words it (both fronts check it here, so they refuse alike)."""
    if text and not (text.isascii() and text.isdigit()):
        raise errors.Invalid(f'resourceVersion: Invalid value: "{text}"')
    return text


def _fence(request: Any) -> api_pb2.Fence | None:
    fence: api_pb2.Fence | None = request.fence if request.HasField("fence") else None
    return fence


class ResourcesService(api_pb2_grpc.ResourcesServicer):
    """Create, Get, List, Update, UpdateStatus, Delete and Watch of every kind."""

    def __init__(
        self,
        etcd: Etcd,
        metrics: ApiServerMetrics,
        *,
        bookmark_every: float = 60.0,
        access: Access | None = None,
        audit: AuditLog | None = None,
        watch_cache: bool = True,
        max_requests_inflight: int = 0,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.etcd = etcd
        self.inflight = InflightLimiter(max_requests_inflight, metrics)
        self.watch_cache = WatchCache(
            etcd, progress_every=bookmark_every, enabled=watch_cache, metrics=metrics
        )
        # The watch cache's counts size each request's work estimate under APF.
        self.gate = RequestGate(self.inflight, dispatcher, self.watch_cache)
        self.access = access or Access.open()
        self.audit = audit
        self.registry = Registry(etcd, cache=self.watch_cache, authorizer=self.access.authorizer)
        self.deleter = Deleter(etcd, self.registry.policies, self.registry.webhooks)
        self.metrics = metrics
        self.bookmark_every = bookmark_every
        self.component_statuses = ComponentStatuses(etcd, self.watch_cache)
        """ComponentStatuses, built by probes on each get and list, never stored."""

    async def _serve(
        self,
        verb: str,
        resource: str,
        context: grpc.aio.ServicerContext[Any, Any],
        call: Callable[[], Awaitable[T]],
        asked: Callable[[], AccessRequest] | None = None,
        options: ListOptions = NO_OPTIONS,
    ) -> T:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        described: AccessRequest | None = None
        user: UserInfo | None = None
        try:
            if self.access.enabled or self.audit is not None:
                # Described only now: naming the kind or decoding may refuse the request.
                described = asked() if asked else AccessRequest(verb, _kind(resource))
            if self.access.enabled:
                assert described is not None
                user = await self._authenticate(context)
                await self.access.authorize(described, user)
                caller.CALLER.set(user)  # for admission policies' request.userInfo
            if resource == COMPONENT_STATUSES.resource and verb not in ("get", "list"):
                raise not_allowed(verb)  # computed on each read, never written or watched
            async with self.gate.admit(verb, resource, described, user, options=options):
                return await call()
        except errors.ApiError as e:
            code = e.code
            if isinstance(e, errors.TooManyRequests):
                context.set_trailing_metadata(((errors.RETRY_AFTER, str(e.retry_after)),))
            if code in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE):
                log.warning("request failed", key=resource, verb=verb, error=e.message)
            await context.abort(code, e.message)
            raise  # unreachable: abort raises
        except Exception:
            code = grpc.StatusCode.INTERNAL
            log.exception("request crashed", key=resource, verb=verb)
            raise
        finally:
            self.metrics.requests.labels(verb, resource, code.name).inc()
            elapsed = time.perf_counter() - started
            self.metrics.request_duration.labels(verb, resource).observe(elapsed)
            if self.audit is not None:
                self.audit.record(
                    frontend="grpc",
                    verb=verb,
                    resource=resource,
                    request=described,
                    user=user,
                    code=code.name,
                    seconds=elapsed,
                )

    async def _authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> UserInfo:
        return await self.access.authenticate(*grpc_caller(context))

    async def Create(
        self, request: api_pb2.CreateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ObjectResponse:
        def create(kind: Kind) -> Awaitable[Object]:
            return self.registry.create(
                kind,
                request.namespace,
                request.object,
                fence=_fence(request),
                dry_run=request.dry_run,
            )

        return await self._write("create", request, context, create, allowed="create")

    async def Get(
        self, request: api_pb2.GetRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ObjectResponse:
        def get(kind: Kind) -> Awaitable[Object]:
            version = get_version(request.resource_version)
            if kind is COMPONENT_STATUSES:
                return self.component_statuses.get(request.name)
            return self.registry.get(kind, request.namespace, request.name, version)

        return await self._object(
            "get", request.resource, context, get, lambda: _named("get", request)
        )

    async def List(
        self, request: api_pb2.ListRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ListResponse:
        async def call() -> api_pb2.ListResponse:
            if request.resource == COMPONENT_STATUSES.resource:
                found = await self.component_statuses.all(
                    parse(request.label_selector, request.field_selector)
                )
                return api_pb2.ListResponse(items=[s.SerializeToString() for s in found])
            page = await self.watch_cache.serve_list(
                _kind(request.resource),
                request.namespace,
                parse(request.label_selector, request.field_selector),
                limit=request.limit,
                continue_token=getattr(request, "continue"),
                resource_version=request.resource_version,
                match=request.resource_version_match,
            )
            response = api_pb2.ListResponse(
                items=[obj.SerializeToString() for obj in page.items],
                resource_version=str(page.resource_version),
                remaining_item_count=page.remaining,
            )
            setattr(response, "continue", page.continue_token)
            return response

        def asked() -> AccessRequest:
            return AccessRequest(
                "list",
                _kind(request.resource),
                request.namespace,
                field_selector=request.field_selector,
            )

        options = ListOptions(
            limit=request.limit,
            label_selector=request.label_selector,
            field_selector=request.field_selector,
            resource_version=request.resource_version,
            resource_version_match=request.resource_version_match,
            continue_token=getattr(request, "continue"),
        )
        return await self._serve("list", request.resource, context, call, asked, options)

    async def _update(
        self,
        verb: str,
        request: api_pb2.UpdateRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        status: bool,
    ) -> api_pb2.ObjectResponse:
        # UpdateStatus is the status subresource; Update may name another (a pod's
        # ephemeralcontainers), which the registry refuses for a kind without it.
        subresource = "status" if status else request.subresource

        def update(kind: Kind) -> Awaitable[Object]:
            return self.registry.update(
                kind,
                request.namespace,
                request.object,
                subresource=subresource,
                fence=_fence(request),
                dry_run=request.dry_run,
            )

        return await self._write(
            verb, request, context, update, allowed="update", subresource=subresource
        )

    async def _write(
        self,
        verb: str,
        request: api_pb2.CreateRequest | api_pb2.UpdateRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        write: Callable[[Kind], Awaitable[Object]],
        *,
        allowed: str,
        subresource: str = "",
    ) -> api_pb2.ObjectResponse:
        """Create and the updates: the request carries the whole object, and access is
        asked with its name, which the node authorizer checks (its own Node only)."""

        def asked() -> AccessRequest:
            obj = decode_request(_kind(request.resource), request.object)
            return AccessRequest(
                allowed,
                _kind(request.resource),
                request.namespace or obj.metadata.namespace,
                obj.metadata.name,
                subresource=subresource,
            )

        return await self._object(verb, request.resource, context, write, asked)

    async def _object(
        self,
        verb: str,
        resource: str,
        context: grpc.aio.ServicerContext[Any, Any],
        act: Callable[[Kind], Awaitable[Object]],
        asked: Callable[[], AccessRequest],
    ) -> api_pb2.ObjectResponse:
        """The verbs that answer with one object (all but List and Watch): `act` on the
        resource's kind, the object it gives back serialized."""

        async def call() -> api_pb2.ObjectResponse:
            obj = await act(_kind(resource))
            return api_pb2.ObjectResponse(object=obj.SerializeToString())

        return await self._serve(verb, resource, context, call, asked)

    async def Update(
        self, request: api_pb2.UpdateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ObjectResponse:
        return await self._update("update", request, context, status=False)

    async def UpdateLease(
        self, request: api_pb2.UpdateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ObjectResponse:
        """Update, for Leases only: what every Lease lane serves (client/lanes.py)."""
        if request.resource != lanes.RESOURCE:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f'the Lease lanes update leases only, not "{request.resource}": use Update',
            )
        return await self._update("update", request, context, status=False)

    async def UpdateStatus(
        self, request: api_pb2.UpdateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ObjectResponse:
        return await self._update("update_status", request, context, status=True)

    async def Delete(
        self, request: api_pb2.DeleteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> api_pb2.ObjectResponse:
        async def delete(kind: Kind) -> Object:
            grace = (
                request.grace_period_seconds if request.HasField("grace_period_seconds") else None
            )
            if request.eviction:
                if kind.resource != "pods":
                    raise errors.Invalid(f"eviction: only pods are evicted, not {kind.resource}")
                await eviction.admit(self.registry, request.namespace, request.name)
            return await self.deleter.delete(
                kind,
                request.namespace,
                request.name,
                grace_period_seconds=grace,
                propagation_policy=request.propagation_policy,
                precondition_uid=request.precondition_uid,
                precondition_resource_version=request.precondition_resource_version,
                fence=_fence(request),
            )

        return await self._object(
            "delete", request.resource, context, delete, lambda: _named("delete", request)
        )

    async def Watch(
        self, request: api_pb2.WatchRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[api_pb2.WatchEvent]:
        resource = request.resource
        kind: Kind | None = None
        selection = None
        # From "" or "0", Kubernetes' start: an ADDED event for every selected object.
        since = request.resource_version
        initial: list[Object] = []

        async def setup() -> None:
            # The initial list is read here, inside the request's seat of API Priority
            # and Fairness (a watch from "" costs a list), which the stream then gives up.
            nonlocal kind, selection, initial, since
            kind = _kind(resource)
            selection = parse(request.label_selector, request.field_selector)
            if since in ("", "0"):
                initial, since = await self.watch_cache.initial(
                    kind, request.namespace, selection, since
                )

        def asked() -> AccessRequest:
            return AccessRequest(
                "watch", _kind(resource), request.namespace, field_selector=request.field_selector
            )

        options = ListOptions(
            label_selector=request.label_selector,
            field_selector=request.field_selector,
            resource_version=request.resource_version,
        )
        await self._serve("watch", resource, context, setup, asked, options)
        assert kind is not None and selection is not None
        gauge = self.metrics.watchers.labels(resource)
        gauge.inc()
        cache = self.watch_cache
        try:
            added = collections.deque(
                api_pb2.WatchEvent(
                    type="ADDED",
                    object=obj.SerializeToString(),
                    resource_version=obj.metadata.resource_version,
                )
                for obj in initial
            )
            bookmark_every = self.bookmark_every if request.allow_bookmarks else 0.0
            changes = cache.watch_batches(
                kind,
                request.namespace,
                selection,
                resource_version=since,
                bookmark_every=bookmark_every,
            )
            async with aclosing(changes) as batches:
                if request.batch_events:
                    while added:
                        yield packed(take(added))
                    async for batch in batches:
                        yield packed(batch)
                else:
                    while added:
                        yield added.popleft()
                    async for batch in batches:
                        for event in batch:
                            yield event
        except errors.ApiError as e:
            self.metrics.requests.labels("watch_stream", resource, e.code.name).inc()
            await context.abort(e.code, e.message)
        finally:
            gauge.dec()
