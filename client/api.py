"""The async API client: typed verbs over the generic resource service, with fail-over.

Every master runs an API server and they are active-active, so the client holds one
grpc.aio channel per endpoint and uses one of them at a time ("the current endpoint").
When a call fails because that server cannot be reached (UNAVAILABLE) the client moves
on to the next endpoint, and every later call, watches included, goes there too.

What is retried, and why it is safe:

- get, list: reads; retried on UNAVAILABLE and DEADLINE_EXCEEDED. Every kind of call
  below retries on CANCELLED as on UNAVAILABLE: the server reset the call (it was
  stopping), the client did not cancel it.
- update, update_status: guarded by the object's resourceVersion. If the first attempt
  did land, the retry is refused with Conflict (the version moved on), which callers
  handle anyway by re-reading: never a double write. An unguarded update (empty
  resourceVersion) writes the same content twice, which is idempotent.
- delete: retried likewise; if the first attempt landed, the retry raises NotFound
  (or returns the object already marked for graceful deletion).
- create of a named object: retried on UNAVAILABLE. If the first attempt did land, the
  retry raises AlreadyExists for the object this very call created; callers that must
  know compare with a get, and level-triggered ones see it in their informer anyway.
- create with `generateName`: a retry after the request went out could create a second
  object, so the client first makes sure the channel is connected (failing to connect is
  unambiguous: nothing was sent, so it fails over) and raises Unavailable if the call
  fails after that, leaving the decision to the caller.
- DEADLINE_EXCEEDED on a create is never retried: the server may still be writing.

Retries go round the endpoints without waiting; once every endpoint has failed, the
client backs off (capped exponential, full jitter) before the next round. Attempts are
bounded by `ClientOptions.max_retries` and by `ClientOptions.retry_deadline`.

An update of a Lease (a node heartbeat, a leader's mirror) goes to the Leases' own lanes
(`client/lanes.py`), not to Update, so that it never waits behind other updates.

`watch()` resumes a broken stream on the next endpoint from the last resourceVersion it
delivered, so a consumer sees every event exactly once and in order across a fail-over.
It asks for batched events (`batch_events`): what the server has queued for the watch
comes in one message, which a busy server sends far sooner than one message per event.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, Unpack, cast

import grpc
import grpc.aio
import structlog
from prometheus_client import Counter, Histogram

from client import kinds, lanes
from client.backoff import Backoff
from client.credentials import token_interceptors
from client.errors import Gone, Unavailable, from_grpc, retry_after
from client.kinds import Object
from client.timeouts import within
from client.tls import ClientCredentials, dial
from client.verbs import DeleteOptions, Lister
from proto import api_pb2, auth_pb2, certificates_pb2, core_pb2, nodeagent_pb2

__all__ = ["ApiClient", "ClientOptions", "ObjectList", "WatchEvent", "list_every_page"]

O = TypeVar("O", bound=Object)  # noqa: E741 (the stub's name)

log = structlog.get_logger("client.api")

REQUESTS = Counter(
    "tugboat_client_requests_total",
    "Attempts of unary API calls, by verb, resource and gRPC status code.",
    ["verb", "resource", "code"],
)
REQUEST_DURATION = Histogram(
    "tugboat_client_request_duration_seconds",
    "Unary API calls from start to answer, retries and fail-overs included.",
    ["verb", "resource"],
)
FAILOVERS = Counter(
    "tugboat_client_failovers_total",
    "Times a client moved from a failing API server to the next one.",
)

_SERVICE = "/tugboat.v1.Resources/"
_OTHER_SERVICES = {
    "CreateToken": "/tugboat.v1.Auth/CreateToken",
    "Stats": "/tugboat.v1.NodeAgent/Stats",
}
"""Methods of the API servers' other services that this client calls, by full path."""
_MAX_MESSAGE = 64 * 1024 * 1024
"""Large lists come back in one message when the caller asks for no limit."""


@dataclass
class ObjectList:
    """One page of a List: items, the list's resourceVersion and the continue token."""

    items: list[Object]
    resource_version: str
    continue_token: str = ""
    remaining_item_count: int = 0


async def list_every_page(
    lister: Lister,
    resource: str,
    namespace: str,
    *,
    label_selector: str,
    field_selector: str,
    page_size: int,
) -> ObjectList:
    """Every page of a List joined; the resourceVersion is the first page's.

    A function of any Lister, not a method, so that an informer handed a test double
    pages through it exactly as ApiClient.list_all does. It has no defaults: its callers
    own theirs.
    """
    items: list[Object] = []
    token = ""
    version = ""
    # The server's continue tokens always end; the bound guards against a buggy one.
    for _ in range(1_000_000):
        page = await lister.list(
            resource,
            namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            limit=page_size,
            continue_token=token,
        )
        items.extend(page.items)
        version = version or page.resource_version
        token = page.continue_token
        if not token:
            break
    return ObjectList(items=items, resource_version=version)


@dataclass
class WatchEvent:
    """ADDED, MODIFIED, DELETED or BOOKMARK, with the object as of that revision."""

    type: str
    object: Object | None
    resource_version: str


@dataclass
class ClientOptions:
    timeout: float = 10.0
    """Deadline of each unary call, in seconds."""
    max_retries: int = 5
    """Attempts of an idempotent call across endpoints before Unavailable is raised."""
    user_agent: str = "tugboat"
    fence: api_pb2.Fence | None = field(default=None)
    """Attached to every write when set (leader-only components)."""
    retry_deadline: float = 30.0
    """Total time one call may spend on attempts and back-off, in seconds."""
    backoff_base: float = 0.1
    """First back-off after every endpoint failed, in seconds; doubles each round."""
    backoff_cap: float = 2.0
    """Longest back-off between rounds, in seconds."""
    connect_timeout: float = 2.0
    """How long a create waits for a connection before failing over, in seconds."""
    spread: bool = True
    """Start on a random endpoint, so that many clients spread over the API servers."""
    token: str = ""
    """A bearer token sent with every call (client/credentials.py); empty: none."""
    tls: ClientCredentials | None = None
    """The cluster CA that API servers' certificates must chain to, and this client's own
    certificate if it has one (client/tls.py); None: plaintext, for tests only."""
    watch_idle_timeout: float = 180.0
    """A watch with bookmarks that hears nothing (no event, no bookmark) for this long, in
    seconds, is presumed cut off (a partitioned server sends no reset) and is resumed on
    the next endpoint. Keep it above the API servers' bookmark interval; 0 turns it off."""


class _Retry(enum.Enum):
    IDEMPOTENT = "idempotent"
    """Retry on UNAVAILABLE and DEADLINE_EXCEEDED."""
    NAMED_CREATE = "named-create"
    """Retry on UNAVAILABLE, even after the request may have been sent."""
    GENERATED_CREATE = "generated-create"
    """Retry on UNAVAILABLE only when nothing was sent."""


# CANCELLED reaches a unary call only from the server's side (our own cancellation raises
# asyncio.CancelledError): a server that stops gracefully resets the streams it had not
# taken up yet, so a call racing its shutdown is as unanswered as an UNAVAILABLE one.
_RETRY_CODES = {
    _Retry.IDEMPOTENT: {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
    },
    _Retry.NAMED_CREATE: {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED},
    _Retry.GENERATED_CREATE: {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED},
}

_WATCH_RESUME_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    # A server killed mid-stream can surface as a reset stream.
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
}


_REDIAL_INTERVAL = 0.25
"""Seconds a channel is kept before `_Endpoint.redial` may replace it."""
_RETIRE_AFTER = 30.0
"""Seconds a replaced channel stays open for the calls that were already on it."""


class _Endpoint:
    """One API server: its address and, once used, a channel with the service's methods."""

    def __init__(self, address: str, options: ClientOptions) -> None:
        self.address = address
        self._options = options
        self._channel: grpc.aio.Channel | None = None
        self._methods: dict[str, Any] = {}
        self._dialed_at = 0.0
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._dialed_at = time.monotonic()
            self._channel = dial(
                self.address,
                self._options.tls,
                interceptors=token_interceptors(self._options.token),
                options=[
                    ("grpc.primary_user_agent", self._options.user_agent),
                    ("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE),
                    # Reconnect quickly to a restarted server instead of grpc's 1 s..120 s.
                    ("grpc.initial_reconnect_backoff_ms", 100),
                    ("grpc.min_reconnect_backoff_ms", 100),
                    ("grpc.max_reconnect_backoff_ms", 1000),
                    # Its own connection, not one shared from grpc's global pool, so that
                    # `redial` gets a fresh connection instead of the one backing off.
                    ("grpc.use_local_subchannel_pool", 1),
                ],
            )
        return self._channel

    def unary(
        self, method: str, response: type[Any], path: str | None = None
    ) -> grpc.aio.UnaryUnaryMultiCallable[Any, Any]:
        """`method` of the resource service (or of _OTHER_SERVICES), or the one at `path`."""
        key = path or method
        found = self._methods.get(key)
        if found is None:
            found = self.channel.unary_unary(
                path or _OTHER_SERVICES.get(method, _SERVICE + method),
                request_serializer=_serialize,
                response_deserializer=response.FromString,
            )
            self._methods[key] = found
        return cast("grpc.aio.UnaryUnaryMultiCallable[Any, Any]", found)

    def watch(self) -> grpc.aio.UnaryStreamMultiCallable[api_pb2.WatchRequest, api_pb2.WatchEvent]:
        found = self._methods.get("Watch")
        if found is None:
            found = self.channel.unary_stream(
                _SERVICE + "Watch",
                request_serializer=_serialize,
                response_deserializer=api_pb2.WatchEvent.FromString,
            )
            self._methods["Watch"] = found
        return cast(
            "grpc.aio.UnaryStreamMultiCallable[api_pb2.WatchRequest, api_pb2.WatchEvent]", found
        )

    def ready(self) -> bool:
        """Whether the channel is connected now."""
        return self.channel.get_state() == grpc.ChannelConnectivity.READY

    async def connected(self, timeout: float, *, patient: bool = False) -> bool:
        """Whether the channel is (or within `timeout` becomes) READY.

        A failed connection attempt ends the wait with False unless `patient`, in which
        case the wait goes on through grpc's reconnection attempts until `timeout`.
        """
        channel = self.channel
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        state = channel.get_state(try_to_connect=True)
        # Each turn is one state change; the count bound is only a guard against churn.
        for _ in range(64):
            if state == grpc.ChannelConnectivity.READY:
                return True
            if state == grpc.ChannelConnectivity.SHUTDOWN:
                return False
            if state == grpc.ChannelConnectivity.TRANSIENT_FAILURE and not patient:
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await within(channel.wait_for_state_change(state), remaining)
            except TimeoutError:
                return False
            state = channel.get_state(try_to_connect=True)
        return False

    async def redial(self) -> None:
        """Drop a channel that is waiting out grpc's reconnection back-off.

        grpc waits up to a second (with jitter) between connection attempts, and Python's
        grpc cannot cut that wait short; a call with a shorter deadline would miss a
        server that came back meanwhile. A new channel dials at once. At most one redial
        per `_REDIAL_INTERVAL`, so that many waiting calls do not churn channels.
        """
        if self._channel is None or time.monotonic() - self._dialed_at < _REDIAL_INTERVAL:
            return
        if self._channel.get_state() != grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            return
        # Other calls may hold the old channel's methods this very moment: closing it
        # under them would raise "Channel is closed", which no retry expects. It is
        # closed once every call on it has surely ended (they fail fast: it has no
        # connection), and new calls take the new channel.
        old, self._channel = self._channel, None
        self._methods.clear()
        closing = asyncio.create_task(self._close_later(old))
        self._retiring.add(closing)
        closing.add_done_callback(self._retiring.discard)

    async def _close_later(self, channel: grpc.aio.Channel) -> None:
        try:
            await asyncio.sleep(_RETIRE_AFTER)
        finally:
            await channel.close(None)

    async def close(self) -> None:
        for closing in list(self._retiring):
            closing.cancel()  # closes its channel now
        await asyncio.gather(*self._retiring, return_exceptions=True)
        if self._channel is not None:
            channel, self._channel = self._channel, None
            self._methods.clear()
            await channel.close(None)


def _serialize(message: Any) -> bytes:
    return cast(bytes, message.SerializeToString())


class ApiClient:
    """Talks to a list of API servers, failing over on UNAVAILABLE.

    Errors are raised as `client.errors.ApiError` subclasses.
    """

    def __init__(self, endpoints: Sequence[str], options: ClientOptions | None = None) -> None:
        if isinstance(endpoints, str):
            endpoints = [e for e in endpoints.split(",") if e]
        if not endpoints:
            raise ValueError("ApiClient needs at least one API server endpoint (host:port)")
        for address in endpoints:
            if ":" not in address:
                raise ValueError(f'API server endpoint "{address}" is not of the form host:port')
        self.options = options or ClientOptions()
        self._endpoints = [_Endpoint(a, self.options) for a in endpoints]
        self._current = random.randrange(len(self._endpoints)) if self.options.spread else 0
        self._closed = False
        self._lane = 0
        """The Lease lane the next Lease update takes."""

    @property
    def endpoint(self) -> str:
        """The API server in use now ("host:port")."""
        return self._endpoints[self._current].address

    @property
    def endpoints(self) -> list[str]:
        """Every API server this client may use, in fail-over order."""
        return [e.address for e in self._endpoints]

    async def close(self) -> None:
        """Close every channel; calls in flight fail with CANCELLED."""
        self._closed = True
        for endpoint in self._endpoints:
            await endpoint.close()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the verbs -------------------------------------------------------------------

    async def create(self, obj: O, *, dry_run: bool = False) -> O:
        """Create `obj`; see the module docstring for when a create is retried."""
        retry = _Retry.NAMED_CREATE if obj.metadata.name else _Retry.GENERATED_CREATE
        return await self._write("Create", obj, dry_run=dry_run, retry=retry)

    async def get(
        self, resource: str, namespace: str, name: str, resource_version: str = ""
    ) -> Object:
        """`resource` is the plural ("pods"); namespace "" for cluster-scoped kinds.
        `resource_version` "" reads the newest; "0" any version the server has (its
        watch cache, no etcd read); a number one not older than it."""
        kinds.by_resource(resource)
        request = api_pb2.GetRequest(
            resource=resource, namespace=namespace, name=name, resource_version=resource_version
        )
        response = await self._unary(
            "Get", request, api_pb2.ObjectResponse, what=f"{resource} {namespace}/{name}"
        )
        return kinds.decode(resource, response.object)

    async def list(
        self,
        resource: str,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
        resource_version_match: str = "",
    ) -> ObjectList:
        """One page (all objects when limit is 0); namespace "" lists every namespace.
        resourceVersion as Kubernetes': "" the newest state, "0" any the server has."""
        kinds.by_resource(resource)
        request = api_pb2.ListRequest(
            resource=resource,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            limit=limit,
            resource_version=resource_version,
            resource_version_match=resource_version_match,
            **{"continue": continue_token},
        )
        response = await self._unary(
            "List", request, api_pb2.ListResponse, what=f"{resource} in {namespace or '*'}"
        )
        return ObjectList(
            items=[kinds.decode(resource, item) for item in response.items],
            resource_version=response.resource_version,
            continue_token=getattr(response, "continue"),
            remaining_item_count=response.remaining_item_count,
        )

    async def list_all(
        self,
        resource: str,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        page_size: int = 500,
    ) -> ObjectList:
        """Every page of a List joined; the resourceVersion is the first page's."""
        return await list_every_page(
            self,
            resource,
            namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            page_size=page_size,
        )

    async def update(self, obj: O, *, dry_run: bool = False) -> O:
        """Guarded by obj.metadata.resourceVersion: a stale one raises Conflict."""
        return await self._write("Update", obj, dry_run=dry_run)

    async def update_status(self, obj: O) -> O:
        """Write only obj's status, guarded by its resourceVersion like update()."""
        return await self._write("UpdateStatus", obj, dry_run=False)

    async def update_ephemeral_containers(self, pod: core_pb2.Pod) -> core_pb2.Pod:
        """Write only the pod's spec.ephemeralContainers (Kubernetes' pods/ephemeralcontainers,
        what `kubectl debug` adds a container through), guarded like update()."""
        return await self._write("Update", pod, dry_run=False, subresource="ephemeralcontainers")

    async def update_approval(
        self, csr: certificates_pb2.CertificateSigningRequest
    ) -> certificates_pb2.CertificateSigningRequest:
        """Write only the CSR's conditions (Kubernetes' certificatesigningrequests/approval,
        what `kubectl certificate approve` writes), guarded like update(). Approved or
        Denied needs `approve` on the request's signer besides `update` of the subresource."""
        return await self._write("Update", csr, dry_run=False, subresource="approval")

    async def _write(
        self,
        method: str,
        obj: O,
        *,
        dry_run: bool,
        retry: _Retry = _Retry.IDEMPOTENT,
        subresource: str = "",
    ) -> O:
        """Send the whole object (Create, Update, UpdateStatus), fenced when so configured."""
        kind = kinds.of(obj)
        # The two request messages have the same fields; only the method tells them apart.
        message = api_pb2.CreateRequest if method == "Create" else api_pb2.UpdateRequest
        request = message(
            resource=kind.resource,
            namespace=obj.metadata.namespace,
            object=obj.SerializeToString(),
            dry_run=dry_run,
        )
        if isinstance(request, api_pb2.UpdateRequest):
            request.subresource = subresource
        self._fence(request)
        path = None
        if method == "Update" and kind.resource == lanes.RESOURCE:
            # In the Leases' own lanes, taken in turn (client/lanes.py says why).
            path = lanes.path(self._lane)
            self._lane = (self._lane + 1) % lanes.LANES
        response = await self._unary(
            method,
            request,
            api_pb2.ObjectResponse,
            retry=retry,
            what=_what(kind.resource, obj),
            path=path,
        )
        return cast(O, kinds.decode(kind.resource, response.object))

    async def create_token(
        self,
        namespace: str,
        service_account: str,
        *,
        pod_name: str = "",
        pod_uid: str = "",
        expiration_seconds: int = 0,
        audiences: Sequence[str] = (),
    ) -> auth_pb2.TokenResponse:
        """A ServiceAccount token (Kubernetes' TokenRequest), bound to a pod if named, for
        `audiences` (none: the API server)."""
        request = auth_pb2.TokenRequest(
            namespace=namespace,
            service_account=service_account,
            pod_name=pod_name,
            pod_uid=pod_uid,
            expiration_seconds=expiration_seconds,
            audiences=audiences,
        )
        answer: auth_pb2.TokenResponse = await self._unary(
            "CreateToken", request, auth_pb2.TokenResponse, what=f"{namespace}/{service_account}"
        )
        return answer

    async def node_stats(self, node: str) -> nodeagent_pb2.StatsResponse:
        """A node's usage from its kubelet, relayed by an API server (what `tug top` and
        the HPA controller read; client/metricsapi.py turns it into PodMetrics)."""
        answer: nodeagent_pb2.StatsResponse = await self._unary(
            "Stats",
            nodeagent_pb2.StatsRequest(node=node),
            nodeagent_pb2.StatsResponse,
            what=f"nodes/{node}",
        )
        return answer

    async def delete(
        self, resource: str, namespace: str, name: str, **options: Unpack[DeleteOptions]
    ) -> Object:
        """The object as deleted, or with deletionTimestamp set when deletion is graceful."""
        kinds.by_resource(resource)
        # An unset grace period (None) leaves the request's optional field unset.
        request = api_pb2.DeleteRequest(
            resource=resource, namespace=namespace, name=name, **options
        )
        self._fence(request)
        response = await self._unary(
            "Delete", request, api_pb2.ObjectResponse, what=f"{resource} {namespace}/{name}"
        )
        return kinds.decode(resource, response.object)

    def watch(
        self,
        resource: str,
        namespace: str = "",
        *,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent]:
        """Events after resource_version, resumed on another API server if one fails.

        With an empty resource_version the watch starts from the current revision (read
        with a one-item list first, so that a fail-over before the first event loses
        nothing). BOOKMARK events (object None) are yielded only with allow_bookmarks.
        Raises Gone when the revision has been compacted.
        """
        kinds.by_resource(resource)
        return self._watch(
            resource,
            namespace,
            resource_version,
            label_selector,
            field_selector,
            allow_bookmarks,
        )

    # -- machinery -------------------------------------------------------------------

    def _fence(
        self,
        request: api_pb2.CreateRequest | api_pb2.UpdateRequest | api_pb2.DeleteRequest,
    ) -> None:
        if self.options.fence is not None:
            request.fence.CopyFrom(self.options.fence)

    def _fail_over(self, index: int, error: grpc.aio.AioRpcError | str) -> None:
        """Move off endpoint `index` unless another call already did."""
        if self._current != index:
            return
        self._current = (index + 1) % len(self._endpoints)
        FAILOVERS.inc()
        if len(self._endpoints) > 1:
            reason = error if isinstance(error, str) else f"{error.code().name}: {error.details()}"
            log.warning(
                "api server failed, moving to the next",
                failed=self._endpoints[index].address,
                next=self._endpoints[self._current].address,
                reason=reason,
            )

    async def _pause(self, backoff: Backoff, longest: float) -> None:
        """Wait between rounds, once every endpoint has failed.

        A server that answers with UNAVAILABLE (its etcd is down, say) gets a jittered
        back-off. A server that cannot be reached is waited for instead: the wait ends
        as soon as grpc reconnects, so a restarted server is used at once rather than
        after retries that fail fast while grpc's reconnection back-off runs.
        """
        bound = min(backoff.bound(), longest)
        delay = min(backoff.next(), longest)
        endpoint = self._endpoints[self._current]
        if endpoint.ready():
            await asyncio.sleep(delay)
        else:
            await endpoint.redial()
            await endpoint.connected(bound, patient=True)

    async def _unary(
        self,
        method: str,
        request: Any,
        response: type[Any],
        *,
        retry: _Retry = _Retry.IDEMPOTENT,
        what: str = "",
        path: str | None = None,
    ) -> Any:
        """One unary call with fail-over and bounded retries (see the module docstring);
        `path` sends it to another method than `method` names, counted as `method`."""
        if self._closed:
            raise Unavailable("the API client is closed")
        options = self.options
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + options.retry_deadline
        resource = str(getattr(request, "resource", ""))
        backoff = Backoff(base=options.backoff_base, cap=options.backoff_cap)
        failed_this_round: set[int] = set()
        last = "no attempt was made"
        for _ in range(max(1, options.max_retries)):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            index = self._current
            endpoint = self._endpoints[index]
            if retry is _Retry.GENERATED_CREATE and not await endpoint.connected(
                min(options.connect_timeout, remaining)
            ):
                last = f"{endpoint.address}: cannot connect"
                self._fail_over(index, "cannot connect")
            else:
                try:
                    answer = await endpoint.unary(method, response, path)(
                        request, timeout=min(options.timeout, max(remaining, 0.001))
                    )
                    REQUESTS.labels(method, resource, "OK").inc()
                    REQUEST_DURATION.labels(method, resource).observe(loop.time() - started)
                    return answer
                except grpc.aio.AioRpcError as e:
                    code = e.code()
                    REQUESTS.labels(method, resource, code.name).inc()
                    pause = retry_after(e)
                    # retry-after 0: refused for a reason waiting will not mend soon (a
                    # disruption budget); the caller decides, as kubectl drain does.
                    if pause and not self._closed:
                        # Refused for load before any work was done: safe to send again,
                        # even a generated-name create; the next server may have room.
                        self._fail_over(index, e)
                        last = f"{endpoint.address}: too many requests"
                        failed_this_round.add(index)
                        if len(failed_this_round) >= len(self._endpoints):
                            failed_this_round.clear()
                            wait = max(pause, backoff.next())
                            await asyncio.sleep(min(wait, max(0.0, deadline - loop.time())))
                        continue
                    if code not in _RETRY_CODES[retry] or self._closed:
                        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                            # Not retried (a create may still land), but later calls
                            # should not wait on a server that may be cut off.
                            self._fail_over(index, e)
                        raise from_grpc(e) from None
                    self._fail_over(index, e)
                    if retry is _Retry.GENERATED_CREATE:
                        raise Unavailable(
                            f"{method} {what}: {endpoint.address} failed after the request "
                            f"was sent ({e.details()}); the object may have been created"
                        ) from None
                    last = f"{endpoint.address}: {code.name}: {e.details()}"
            failed_this_round.add(index)
            if len(failed_this_round) >= len(self._endpoints):
                failed_this_round.clear()
                await self._pause(backoff, max(0.0, deadline - loop.time()))
        raise Unavailable(f"{method} {what}: no API server answered ({last})")

    async def _watch(
        self,
        resource: str,
        namespace: str,
        resource_version: str,
        label_selector: str,
        field_selector: str,
        allow_bookmarks: bool,
    ) -> AsyncIterator[WatchEvent]:
        if not resource_version:
            first = await self.list(resource, namespace, limit=1)
            resource_version = first.resource_version
        what = f"{resource} in {namespace or '*'}"
        idle = self.options.watch_idle_timeout
        idle_timeout = idle if allow_bookmarks and idle > 0 else None
        backoff = Backoff(base=self.options.backoff_base, cap=self.options.backoff_cap)
        failures = 0
        failed_this_round: set[int] = set()
        while True:
            if self._closed:
                raise Unavailable("the API client is closed")
            index = self._current
            endpoint = self._endpoints[index]
            request = api_pb2.WatchRequest(
                resource=resource,
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                resource_version=resource_version,
                allow_bookmarks=allow_bookmarks,
                batch_events=True,
            )
            call = endpoint.watch()(request)
            stream = call.__aiter__()
            reason: str
            try:
                # One turn per message (an event, or a batch of them); the stream's end
                # or an error leaves the loop.
                while True:
                    try:
                        async with asyncio.timeout(idle_timeout):
                            event = await anext(stream)
                    except StopAsyncIteration:
                        # The server ended the stream (shutdown, server-side timeout).
                        reason = "the server ended the stream"
                        break
                    except TimeoutError:
                        # A partitioned server sends no reset; silence is the only sign.
                        reason = f"nothing heard for {idle_timeout} s"
                        break
                    failures = 0
                    failed_this_round.clear()
                    backoff.reset()
                    for one in event.events or (event,):
                        if one.resource_version:
                            resource_version = one.resource_version
                        if one.type == "BOOKMARK":
                            if allow_bookmarks:
                                yield WatchEvent("BOOKMARK", None, resource_version)
                            continue
                        yield WatchEvent(
                            one.type, kinds.decode(resource, one.object), one.resource_version
                        )
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.OUT_OF_RANGE:
                    raise Gone(f"watch {what} from {resource_version}: {e.details()}") from None
                if e.code() not in _WATCH_RESUME_CODES:
                    raise from_grpc(e) from None
                reason = f"{e.code().name}: {e.details()}"
            finally:
                call.cancel()
            failures += 1
            if failures > max(1, self.options.max_retries):
                raise Unavailable(f"watch {what}: no API server answered ({reason})")
            self._fail_over(index, reason)
            log.info(
                "watch resuming",
                resource=resource,
                namespace=namespace,
                resource_version=resource_version,
                endpoint=self.endpoint,
            )
            failed_this_round.add(index)
            if len(failed_this_round) >= len(self._endpoints):
                failed_this_round.clear()
                await self._pause(backoff, self.options.backoff_cap)


def _what(resource: str, obj: Object) -> str:
    meta = obj.metadata
    name = meta.name or f"{meta.generate_name}*"
    return f"{resource} {meta.namespace}/{name}" if meta.namespace else f"{resource} {name}"
