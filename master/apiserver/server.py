"""One API server: the gRPC resource and health services, the status port and the compactor.

API servers keep no state of their own (etcd holds everything), so any number of
them serve one etcd at once. `start` serves only once etcd has answered and the
system namespaces exist; `stop` drains requests for a grace period.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
import structlog
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]

from client import errors
from client.api import ApiClient, ClientOptions
from client.kinds import by_resource
from client.statusserver import StatusServer
from client.timeouts import cancel_and_wait, within
from client.tls import ClientCredentials, ServerTls
from master.apiserver import defaults, encryption, nodeagents
from master.apiserver.access import Access
from master.apiserver.access import Request as AccessRequest
from master.apiserver.allocation_repair import AllocationRepair
from master.apiserver.allocators import (
    DEFAULT_NODE_PORT_RANGE,
    DEFAULT_SERVICE_RANGE,
    ServiceAllocator,
)
from master.apiserver.audit import AuditLog
from master.apiserver.auth.authenticator import Authenticator, UidLookup
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.auth.graph import PodGraph
from master.apiserver.auth.issuing import TokenIssuer, load_keys
from master.apiserver.auth.node import NodeAuthorizer
from master.apiserver.auth.rbac import PolicyIndex, RbacAuthorizer
from master.apiserver.auth.satokens import ServiceAccountTokens
from master.apiserver.auth.tokenfile import load_token_file
from master.apiserver.auth.user import UserInfo
from master.apiserver.authservice import AuthService
from master.apiserver.bootstrap import (
    ensure_default_ingress_class,
    ensure_default_policy,
    ensure_default_storage_class,
    ensure_system_namespaces,
)
from master.apiserver.compaction import Compactor
from master.apiserver.customresources.serving import CustomResources
from master.apiserver.discovery import Discovery, DiscoverySettings
from master.apiserver.etcd import Etcd
from master.apiserver.flowcontrol import config as flowconfig
from master.apiserver.flowcontrol.controller import ConfigController
from master.apiserver.flowcontrol.dispatcher import Dispatcher
from master.apiserver.flowcontrol.metrics import FlowControlMetrics
from master.apiserver.kubernetesservice import KubernetesService
from master.apiserver.leaselanes import add_lease_lanes
from master.apiserver.metrics import ApiServerMetrics
from master.apiserver.nodeproxy import NodeProxy
from master.apiserver.objects import decode_stored, object_key
from master.apiserver.policyfeed import PolicyFeed
from master.apiserver.rest import flowheaders, status
from master.apiserver.rest.handlers import RestApi
from master.apiserver.rest.impersonation import acting_user
from master.apiserver.service import ResourcesService
from master.apiserver.strategies import all_strategies
from master.registration import Registration
from proto import api_pb2_grpc, auth_pb2_grpc, nodeagent_pb2_grpc

log = structlog.get_logger("apiserver")

MAX_REQUEST_BYTES = 3 * 1024 * 1024
"""Requests larger than this are refused with RESOURCE_EXHAUSTED, as Kubernetes caps them."""
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""Large lists may exceed gRPC's 4 MiB default."""
PENDING_CALLS = 50_000
"""Calls gRPC's core may hold before the server takes them (its defaults: 1,000, and
3,000 as a hard limit). Beyond those it cancels calls that no handler, metric or inflight
limit has seen, Lease renewals among them: at 5,000 nodes a busy moment of the event
loop let more than that pile up, and the nodes fenced their pods. The inflight limit
refuses overload instead, visibly and with a Retry-After, and never a Lease's renewal."""
SERVICE_NAME = "tugboat.v1.Resources"
LOOPBACK_TOKEN = secrets.token_urlsafe(32)
"""This process' own token (its loopback client's), valid only while it runs."""
POLICY_SYNC_SECONDS = 30.0
"""How long a starting server waits for its first read of the RBAC policy and pods."""


@dataclass
class ApiServerConfig:
    """How one API server runs."""

    etcd_servers: list[str]
    """etcd client endpoints, "host:port"; the first healthy one is used."""
    bind_address: str = "127.0.0.1"
    advertise_address: str = ""
    """The address other components reach this server by (its registration); default the
    bind address. Needed when binding 0.0.0.0, as a host's masters do, so the server also
    answers on loopback when its own network is cut (kube-apiserver's --advertise-address)."""
    port: int = 6443
    """gRPC port; 0 picks a free one."""
    http_port: int | None = None
    """The /healthz, /readyz, /metrics port; None: no status server, 0: a free one."""
    name: str = "apiserver"
    compaction_interval: float = 60.0
    """Seconds between compaction rounds; 0 turns compaction off."""
    compaction_retention: float = 300.0
    """Seconds of etcd history kept for watches to resume from."""
    allocation_repair_interval: float = 60.0
    """Seconds between passes freeing ClusterIP and NodePort keys no Service holds (0: off)."""
    bookmark_interval: float = 60.0
    """Seconds between BOOKMARK events on watches that allow them."""
    watch_cache: bool = True
    """Serve watches and resourceVersion="0" lists from memory (watchcache.py)."""
    max_requests_inflight: int = 400
    """Without authentication, ordinary requests served at once before TooManyRequests;
    Leases are never capped (inflight.py). 0: no cap. kube-apiserver's
    --max-requests-inflight is 400. With authentication and API Priority and Fairness it
    is part of the server's concurrency limit instead (flowcontrol/)."""
    max_mutating_requests_inflight: int = 200
    """The other part of API Priority and Fairness' concurrency limit, as kube-apiserver
    sums --max-requests-inflight and --max-mutating-requests-inflight."""
    enable_priority_and_fairness: bool = True
    """Dispatch authenticated requests by FlowSchemas and PriorityLevelConfigurations
    (flowcontrol/); off, the --max-requests-inflight cap applies to them too."""
    etcd_timeout: float = 5.0
    etcd_tls: ClientCredentials | None = None
    """etcd's CA and this server's client certificate (--etcd-cafile, ...); None: plaintext."""
    default_unreachable_toleration: int | None = None
    """tolerationSeconds of the unreachable toleration added to pods; None keeps the
    module's (defaults.DEFAULT_UNREACHABLE_TOLERATION_SECONDS, 2 s)."""
    default_not_ready_toleration: int | None = None
    """The same for the not-ready toleration."""
    service_cluster_ip_range: str = DEFAULT_SERVICE_RANGE
    """ClusterIPs are allocated from this CIDR (allocators.py)."""
    service_node_port_range: tuple[int, int] = DEFAULT_NODE_PORT_RANGE
    """nodePorts are allocated from this inclusive range."""
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    """The node daemons' status ports, for Prometheus' discovery on the status port."""
    token_auth_file: str = ""
    """Static bearer tokens, one `token,user,uid,"group1,group2"` per line (kube-apiserver's
    --token-auth-file); empty: no authentication, every request is system:anonymous."""
    authorization_modes: tuple[str, ...] = ("AlwaysAllow",)
    """"AlwaysAllow", or any of "Node" and "RBAC" (asked in that order)."""
    encryption_provider_config: str = ""
    """An EncryptionConfiguration (encryption.py): which resources are encrypted in etcd,
    with which keys; empty: none is."""
    audit_log_path: str = ""
    """One JSON line per request (audit.py); empty: no audit log."""
    service_account_signing_key_file: str = ""
    """Signs ServiceAccount tokens (auth/issuing.py); empty: a key made at start."""
    service_account_key_files: tuple[str, ...] = ()
    """More public keys that verify ServiceAccount tokens (rotation)."""
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    """With both, the gRPC port speaks TLS and the HTTP port (the REST API, health,
    metrics) HTTPS, with this certificate; without, both are plaintext (tests only)."""
    client_ca_file: str = ""
    anonymous_metrics: bool = True
    """Whether /metrics on the HTTP port answers without credentials; off, it needs a
    user allowed `get` on the non-resource URL /metrics (group system:monitoring)."""
    kubelet_certificate_authority: str = ""
    """With it, channels to kubelets are TLS verifying their serving certificates against
    this CA (nodeagents.py); empty: plaintext."""
    kubelet_client_certificate: str = ""
    kubelet_client_key: str = ""
    """The certificate this server shows kubelets (in group system:masters)."""
    """Client certificates chaining to this CA authenticate their CN as the user and their
    O as groups (kube-apiserver's --client-ca-file); only with TLS."""
    register: bool = True
    """Keep a registration Lease (master/registration.py) naming the status port, so
    discovery lists this server; only with a status port."""


def _uid_lookup(etcd: Etcd) -> UidLookup:
    """An object's uid straight from etcd (a ServiceAccount token's subjects must exist)."""

    async def lookup(resource: str, namespace: str, name: str) -> str | None:
        kind = by_resource(resource)
        kv, _ = await etcd.get(object_key(kind, namespace, name))
        if kv is None:
            return None
        return str(decode_stored(kind, kv.value, kv.mod_revision).metadata.uid)

    return lookup


def _access_control(
    config: ApiServerConfig, etcd: Etcd, sa_tokens: ServiceAccountTokens
) -> tuple[Access, PolicyFeed | None]:
    """The authenticator and authorizers the flags ask for, and the feed the latter need."""
    modes = set(config.authorization_modes)
    unknown = modes - {"AlwaysAllow", "Node", "RBAC"}
    if unknown or not modes or ("AlwaysAllow" in modes and len(modes) > 1):
        raise ValueError(
            f"authorization modes {sorted(modes)}: use AlwaysAllow, or Node and/or RBAC"
        )
    authenticator = None
    if config.token_auth_file or config.client_ca_file:
        tokens = (
            dict(load_token_file(Path(config.token_auth_file))) if config.token_auth_file else {}
        )
        # The server's own client (discovery, registration), as kube-apiserver's loopback
        # client: a token made at start that exists nowhere else.
        tokens[LOOPBACK_TOKEN] = UserInfo("system:apiserver", ("system:masters",))
        authenticator = Authenticator(
            tokens=tokens, service_accounts=sa_tokens, lookup=_uid_lookup(etcd)
        )
    if modes == {"AlwaysAllow"}:
        return Access(authenticator, None), None
    index, graph = PolicyIndex(), PodGraph()
    node = NodeAuthorizer(graph) if "Node" in modes else None
    # Without RBAC mode nothing is granted by roles: an empty index grants nothing.
    rbac = RbacAuthorizer(index if "RBAC" in modes else PolicyIndex())
    authorizer = Authorizer(rbac, node)
    return Access(authenticator, authorizer), PolicyFeed(etcd, index, graph)


class ApiServer:
    """A running API server; `start()`, then `stop()`."""

    def __init__(self, config: ApiServerConfig) -> None:
        self.config = config
        self.metrics = ApiServerMetrics(resources=[s.kind.resource for s in all_strategies()])
        self.etcd = Etcd(
            config.etcd_servers,
            timeout=config.etcd_timeout,
            observe=self.metrics.observe_etcd,
            tls=config.etcd_tls,
        )
        self.sa_tokens = load_keys(
            config.service_account_signing_key_file, list(config.service_account_key_files)
        )
        self.access, self.policy = _access_control(config, self.etcd, self.sa_tokens)
        self.audit = AuditLog(Path(config.audit_log_path)) if config.audit_log_path else None
        self.encryption = (
            encryption.load(Path(config.encryption_provider_config))
            if config.encryption_provider_config
            else None
        )
        self._previous_encryption: encryption.Transformer | None = None
        self._previous_kubelet_tls: ClientCredentials | None = None
        self._kubelet_tls_set = False
        self.dispatcher = (
            Dispatcher(
                config.max_requests_inflight + config.max_mutating_requests_inflight,
                FlowControlMetrics(self.metrics.registry),
            )
            if config.enable_priority_and_fairness and self.access.enabled
            else None
        )
        self.service = ResourcesService(
            self.etcd,
            self.metrics,
            bookmark_every=config.bookmark_interval,
            access=self.access,
            audit=self.audit,
            watch_cache=config.watch_cache,
            max_requests_inflight=config.max_requests_inflight,
            dispatcher=self.dispatcher,
        )
        self.flow_config = ConfigController(
            self.etcd, self.service.registry, self.service.deleter, self._configure_flows
        )
        self._following_flow_config: asyncio.Task[None] | None = None
        self._borrowing: asyncio.Task[None] | None = None
        self.token_issuer = TokenIssuer(self.sa_tokens, self.service.registry, self.access)
        self._following_policy: asyncio.Task[None] | None = None
        # What the CRDs make this server serve (customresources/serving.py).
        self.custom_resources = CustomResources(self.service)
        self._following_crds: asyncio.Task[None] | None = None
        self.service.registry.allocator = ServiceAllocator(
            self.etcd, config.service_cluster_ip_range, config.service_node_port_range
        )
        self.compactor = Compactor(
            self.etcd,
            interval=config.compaction_interval,
            retention=config.compaction_retention,
        )
        self.allocation_repair = AllocationRepair(
            self.etcd, interval=config.allocation_repair_interval
        )
        self.health = health_aio.HealthServicer()
        self.port = config.port
        self.status: StatusServer | None = None
        self._grpc: grpc.aio.Server | None = None
        self._compacting: asyncio.Task[None] | None = None
        self._repairing: asyncio.Task[None] | None = None
        self._bootstrapped = False
        self._stopped = False
        self._tolerations: tuple[int, int] | None = None
        self.discovery = Discovery(
            replace(
                config.discovery,
                etcd_servers=list(config.etcd_servers),
                etcd_scheme="https" if config.etcd_tls is not None else "http",
            )
        )
        self._loopback: ApiClient | None = None
        self._loopback_address = ""
        self._registration: asyncio.Task[None] | None = None
        self._kubernetes_service: asyncio.Task[None] | None = None
        self.log = log.bind(name=config.name)

    @property
    def endpoint(self) -> str:
        """host:port of the gRPC service, as this host reaches it."""
        return self.endpoint_for(self.port)

    def endpoint_for(self, port: int) -> str:
        host = self.config.bind_address
        return f"{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"

    async def ready(self) -> str | None:
        """None when serving: etcd answers, bootstrap is done, the built-in FlowSchemas
        and priority levels are in place and the gRPC port takes calls; else why not.
        The status port opens first, so /readyz must wait for the gRPC server: a client
        told "ready" before it listens has its calls refused."""
        if not self._bootstrapped:
            return "bootstrap not done"
        if self._grpc is None:
            return "gRPC port not serving yet"
        if not self.flow_config.in_place.is_set():
            return "API Priority and Fairness' built-in configuration not in place yet"
        try:
            await within(self.etcd.revision(), 2.0)
        except (TimeoutError, errors.ApiError) as e:
            return f"etcd unreachable: {e}"
        return None

    async def _metrics_guard(self, request: web.Request) -> web.Response | None:
        """Refuse /metrics to a caller who may not `get` it (401 or 403, as Status)."""
        try:
            user = await acting_user(self.access, request)
            await self.access.authorize(AccessRequest("get", path="/metrics"), user)
        except errors.ApiError as e:
            return status.respond(status.of_error(e))
        return None

    async def start(self) -> None:
        """Bootstrap on etcd, then serve gRPC (and the status port)."""
        cfg = self.config
        # Defaulting is module-level: these apply to the whole process (one server per
        # process in production); stop() puts the previous values back.
        if self.encryption is not None:
            self._previous_encryption = encryption.set_transformer(self.encryption)
        if cfg.kubelet_certificate_authority:
            cert, key = cfg.kubelet_client_certificate, cfg.kubelet_client_key
            self._previous_kubelet_tls = nodeagents.set_kubelet_tls(
                ClientCredentials.from_files(
                    Path(cfg.kubelet_certificate_authority),
                    Path(cert) if cert else None,
                    Path(key) if key else None,
                )
            )
            self._kubelet_tls_set = True
        self._tolerations = defaults.set_default_tolerations(
            unreachable=cfg.default_unreachable_toleration,
            not_ready=cfg.default_not_ready_toleration,
        )
        tls = None
        if cfg.tls_cert_file and cfg.tls_private_key_file:
            tls = ServerTls.from_files(
                Path(cfg.tls_cert_file),
                Path(cfg.tls_private_key_file),
                Path(cfg.client_ca_file) if cfg.client_ca_file else None,
            )
        if cfg.http_port is not None:
            self.status = StatusServer(
                cfg.bind_address,
                cfg.http_port,
                registry=self.metrics.registry,
                ready=self.ready,
                ssl_context=tls.ssl_context() if tls is not None else None,
                max_request_bytes=MAX_REQUEST_BYTES,
                cancel_on_disconnect=True,
                metrics_guard=(
                    None
                    if cfg.anonymous_metrics or not self.access.enabled
                    else self._metrics_guard
                ),
            )
            address = f"{cfg.advertise_address or cfg.bind_address}:{cfg.http_port}"
            self.status.add_routes(
                [
                    self.discovery.route(),
                    *RestApi(
                        self.service, address, self.token_issuer, custom=self.custom_resources
                    ).routes(),
                ]
            )
            self.status.app.on_response_prepare.append(flowheaders.add_headers)
            await self.status.start()
        await self._bootstrap()
        self._following_crds = asyncio.create_task(self.custom_resources.run())
        self._following_flow_config = asyncio.create_task(self.flow_config.run())
        if self.dispatcher is not None:
            # Kubernetes' borrowing between priority levels, recomputed every 10 s.
            self._borrowing = asyncio.create_task(self.dispatcher.run())
        try:
            await within(self.custom_resources.ready.wait(), POLICY_SYNC_SECONDS)
        except TimeoutError:
            self.log.warning("CRDs not read yet; serving their kinds once read", key="crds")
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
                ("grpc.max_send_message_length", MAX_RESPONSE_BYTES),
                ("grpc.so_reuseport", 0),
                ("grpc.server.max_pending_requests", PENDING_CALLS),
                ("grpc.server.max_pending_requests_hard_limit", PENDING_CALLS),
            ]
        )
        api_pb2_grpc.add_ResourcesServicer_to_server(  # type: ignore[no-untyped-call]
            self.service, server
        )
        add_lease_lanes(self.service, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        auth_pb2_grpc.add_AuthServicer_to_server(  # type: ignore[no-untyped-call]
            AuthService(self.access, self.token_issuer, metrics=self.metrics, audit=self.audit),
            server,
        )
        nodeagent_pb2_grpc.add_NodeAgentServicer_to_server(  # type: ignore[no-untyped-call]
            NodeProxy(self.service.registry, self.access), server
        )
        address = f"{cfg.bind_address}:{cfg.port}"
        if tls is None:
            self.port = server.add_insecure_port(address)
            self._loopback_address = self.endpoint_for(self.port)
        else:
            # grpc's Python API can ask for a client certificate only by demanding one:
            # with a client CA every gRPC caller presents a certificate; bearer tokens
            # then travel over HTTPS (kubectl, pods), where a certificate is optional.
            self.port = server.add_secure_port(
                address, tls.grpc(require_client_cert=tls.client_ca is not None)
            )
            # The loopback client (discovery, registration) needs no CA of its own: a
            # socket only this network namespace reaches, and a token only this process
            # knows. Named by a random part, so that servers never share one.
            self._loopback_address = f"unix-abstract:tugboat-apiserver-{secrets.token_hex(8)}"
            server.add_insecure_port(self._loopback_address)
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        await server.start()
        self._grpc = server
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        if cfg.compaction_interval > 0:
            self._compacting = asyncio.create_task(self.compactor.run())
        if cfg.allocation_repair_interval > 0:
            self._repairing = asyncio.create_task(self.allocation_repair.run())
        if self.status is not None:
            # Discovery and registration go through this server's own API, as any client.
            self._loopback = ApiClient(
                [self._loopback_address],
                ClientOptions(user_agent="tug-apiserver", token=LOOPBACK_TOKEN),
            )
            self.discovery.api = self._loopback
        if self.status is not None and self._loopback is not None and cfg.register:
            address = f"{cfg.advertise_address or cfg.bind_address}:{self.status.port}"
            registration = Registration(
                self._loopback,
                component="tug-apiserver",
                identity=address,
                address=address,
                scheme="https" if tls is not None else "http",
            )
            self._registration = asyncio.create_task(registration.run())
            self._kubernetes_service = asyncio.create_task(KubernetesService(self._loopback).run())
        self.log.info(
            "api server serving",
            key=self.endpoint,
            etcd=cfg.etcd_servers,
            http_port=self.status.port if self.status else None,
        )

    def _configure_flows(self, schemas: Mapping[str, Any], levels: Mapping[str, Any]) -> None:
        if self.dispatcher is not None:
            self.dispatcher.configure(*flowconfig.digest(schemas, levels))

    async def _bootstrap(self, attempts: int = 60) -> None:
        """Create the system namespaces and the default policy, waiting (bounded) for etcd;
        then, when authorizing, read the policy before serving anything."""
        for attempt in range(attempts):
            try:
                await ensure_system_namespaces(self.service.registry)
                await ensure_default_policy(self.service.registry)
                await ensure_default_ingress_class(self.service.registry)
                await ensure_default_storage_class(self.service.registry)
                if self.policy is not None:
                    self._following_policy = asyncio.create_task(self.policy.run())
                    await within(self.policy.ready.wait(), POLICY_SYNC_SECONDS)
                self._bootstrapped = True
                return
            except errors.Unavailable as e:
                self.log.warning("etcd not ready", key="bootstrap", attempt=attempt, error=str(e))
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
        raise errors.Unavailable(f"etcd at {', '.join(self.config.etcd_servers)} never answered")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking requests, let running ones finish for `grace` seconds, then close.

        Stopping twice is harmless.
        """
        if self._stopped:
            return
        self._stopped = True
        self._bootstrapped = False
        if self._previous_encryption is not None:
            encryption.set_transformer(self._previous_encryption)
            self._previous_encryption = None
        if self._kubelet_tls_set:
            nodeagents.set_kubelet_tls(self._previous_kubelet_tls)
            self._kubelet_tls_set = False
        if self._tolerations is not None:
            unreachable, not_ready = self._tolerations
            defaults.set_default_tolerations(unreachable=unreachable, not_ready=not_ready)
            self._tolerations = None
        await self.health.enter_graceful_shutdown()
        if self._kubernetes_service is not None:
            await cancel_and_wait([self._kubernetes_service], 3.0)
        if self._registration is not None:
            await cancel_and_wait([self._registration], 3.0)
        if self._following_policy is not None:
            await cancel_and_wait([self._following_policy], 3.0)
        if self._following_crds is not None:
            await cancel_and_wait([self._following_crds], 3.0)
        if self._following_flow_config is not None:
            await cancel_and_wait([self._following_flow_config], 3.0)
        if self._borrowing is not None:
            await cancel_and_wait([self._borrowing], 3.0)
        await self.custom_resources.close()
        if self._loopback is not None:
            await self._loopback.close()
        if self._compacting is not None:
            self._compacting.cancel()
            try:
                await self._compacting
            except asyncio.CancelledError:
                pass
        if self._repairing is not None:
            await cancel_and_wait([self._repairing], 3.0)
        # Watches never end by themselves: end them now so their clients move on at once.
        self.etcd.end_watches()
        await self.service.watch_cache.close()
        if self._grpc is not None:
            await self._grpc.stop(grace)
            self._grpc = None
        if self.status is not None:
            await self.status.stop()
        await self.etcd.close()
        if self.audit is not None:
            self.audit.close()
        self.log.info("api server stopped", key=self.endpoint)
