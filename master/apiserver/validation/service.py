"""Validation of Service and Endpoints (core/v1)."""

from __future__ import annotations

import ipaddress

from client.names import is_dns1123_label, is_dns1123_subdomain
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import PROTOCOLS, port_or_name, unique_name, validate_ip
from master.apiserver.validation.meta import validate_labels
from proto import core_pb2

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
NODE_PORT_RANGE = (30000, 32767)


def needs_health_check(svc: core_pb2.Service) -> bool:
    """Whether `svc` holds a healthCheckNodePort: a LoadBalancer whose nodes keep its
    traffic to their own endpoints, so its load balancer must ask which nodes have one."""
    return svc.spec.type == "LoadBalancer" and svc.spec.external_traffic_policy == "Local"


def validate_service(errs: Errors, svc: core_pb2.Service) -> None:
    """Type, affinity, cluster IP, selector and ports (names, numbers, protocols, nodePorts)."""
    spec = svc.spec
    errs.enum("spec.type", spec.type, SERVICE_TYPES, required=True)
    errs.enum("spec.sessionAffinity", spec.session_affinity, ("ClientIP", "None"), required=True)
    for field, json_name in (
        ("external_traffic_policy", "externalTrafficPolicy"),
        ("internal_traffic_policy", "internalTrafficPolicy"),
    ):
        errs.enum(f"spec.{json_name}", getattr(spec, field), ("Cluster", "Local"), required=False)
    cfg = spec.session_affinity_config.client_ip
    if cfg.HasField("timeout_seconds") and not 0 < cfg.timeout_seconds <= 86400:
        errs.invalid(
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
            cfg.timeout_seconds,
            "must be greater than 0 and less than 86400",
        )
    headless = spec.cluster_ip == "None"
    if spec.cluster_ip and not headless:
        validate_ip(errs, "spec.clusterIP", spec.cluster_ip)
    for i, ip in enumerate(spec.cluster_ips):
        if ip != "None":
            validate_ip(errs, index("spec.clusterIPs", i), ip)
    for i, ip in enumerate(spec.external_ips):
        validate_ip(errs, index("spec.externalIPs", i), ip)
    validate_labels(errs, spec.selector, "spec.selector")
    if not spec.ports and not headless and spec.type != "ExternalName":
        errs.required("spec.ports")
    names: set[str] = set()
    seen: set[tuple[int, str]] = set()
    for i, p in enumerate(spec.ports):
        ppath = index("spec.ports", i)
        _port(errs, ppath, p, names, several=len(spec.ports) > 1)
        if p.target_port.WhichOneof("value") is not None:
            port_or_name(errs, p.target_port, child(ppath, "targetPort"))
        if p.node_port:
            _node_port(errs, spec.type, p.node_port, child(ppath, "nodePort"))
        if (p.port, p.protocol) in seen:
            errs.duplicate(ppath, f"{p.port}/{p.protocol}")
        seen.add((p.port, p.protocol))
    if spec.health_check_node_port:
        _health_check_node_port(errs, svc)
    if spec.type == "ExternalName":
        _external_name(errs, spec.external_name)
        if spec.cluster_ip or spec.cluster_ips:
            errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services")
    _ip_families(errs, spec)
    _load_balancer_fields(errs, spec)


def _ip_families(errs: Errors, spec: core_pb2.ServiceSpec) -> None:
    """Tugboat's networks are IPv4 only: Kubernetes' rules for a single-stack IPv4
    cluster, with its wording."""
    if spec.type == "ExternalName":
        for path, value in (
            ("spec.ipFamilyPolicy", spec.ip_family_policy),
            ("spec.ipFamilies", list(spec.ip_families)),
        ):
            if value:
                errs.forbidden(path, "may not be set for ExternalName services")
        return
    policies = ("SingleStack", "PreferDualStack", "RequireDualStack")
    errs.enum("spec.ipFamilyPolicy", spec.ip_family_policy, policies, required=False)
    if spec.ip_family_policy == "RequireDualStack":
        errs.invalid(
            "spec.ipFamilyPolicy",
            spec.ip_family_policy,
            "this cluster is not configured for dual-stack services",
        )
    for i, family in enumerate(spec.ip_families):
        path = index("spec.ipFamilies", i)
        if family not in ("IPv4", "IPv6"):
            errs.unsupported(path, family, ("IPv4", "IPv6"))
        elif family == "IPv6":
            errs.invalid(path, family, "not configured on this cluster")
        elif family in spec.ip_families[:i]:
            errs.duplicate(path, family)


def _load_balancer_fields(errs: Errors, spec: core_pb2.ServiceSpec) -> None:
    if spec.type == "LoadBalancer":
        return
    only = "may only be used when `type` is 'LoadBalancer'"
    if spec.HasField("allocate_load_balancer_node_ports"):
        errs.forbidden("spec.allocateLoadBalancerNodePorts", only)
    if spec.load_balancer_class:
        errs.forbidden("spec.loadBalancerClass", only)


def _external_name(errs: Errors, value: str) -> None:
    """A DNS name (a trailing dot marks it fully qualified), as Kubernetes checks it."""
    name = value.removesuffix(".")
    errs.syntax("spec.externalName", name, is_dns1123_subdomain)


def _health_check_node_port(errs: Errors, svc: core_pb2.Service) -> None:
    """Set only where it is needed (the API server allocates it there), a port number, and
    not one of the Service's own nodePorts, which the proxies serve as traffic."""
    path, port = "spec.healthCheckNodePort", svc.spec.health_check_node_port
    if not needs_health_check(svc):
        errs.invalid(
            path,
            port,
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        )
    elif not 1 <= port <= 65535:
        errs.port(path, port)
    elif port in {p.node_port for p in svc.spec.ports}:
        errs.duplicate(path, port)


def _port(
    errs: Errors,
    path: str,
    port: core_pb2.ServicePort | core_pb2.EndpointPort,
    names: set[str],
    *,
    several: bool,
) -> None:
    """A Service's and an Endpoints subset's ports follow one rule: a name (required once
    there are several, unique among them), a number and a known protocol."""
    unique_name(errs, child(path, "name"), port.name, names, is_dns1123_label, required=several)
    errs.port(child(path, "port"), port.port)
    errs.enum(child(path, "protocol"), port.protocol, PROTOCOLS, required=True)


def _node_port(errs: Errors, service_type: str, port: int, path: str) -> None:
    if service_type not in ("NodePort", "LoadBalancer"):
        errs.forbidden(path, f"may not be used when `type` is '{service_type}'")
        return
    low, high = NODE_PORT_RANGE
    if not low <= port <= high:
        errs.invalid(
            path,
            port,
            f"provided port is not in the valid range. The range of valid ports is {low}-{high}",
        )


def validate_service_update(errs: Errors, new: core_pb2.Service, old: core_pb2.Service) -> None:
    """A cluster IP, once set, stays (an update that leaves it empty keeps it)."""
    if old.spec.cluster_ip and new.spec.cluster_ip and new.spec.cluster_ip != old.spec.cluster_ip:
        errs.immutable("spec.clusterIP", new.spec.cluster_ip)
    # Load balancers already probe the old port; Kubernetes refuses the change likewise.
    if old.spec.load_balancer_class != new.spec.load_balancer_class and (
        old.spec.type == new.spec.type == "LoadBalancer"
    ):
        errs.immutable("spec.loadBalancerClass", new.spec.load_balancer_class)
    hc, was = new.spec.health_check_node_port, old.spec.health_check_node_port
    if needs_health_check(new) and needs_health_check(old) and was and hc and hc != was:
        errs.invalid(
            "spec.healthCheckNodePort",
            hc,
            "cannot change healthCheckNodePort on loadBalancer service with "
            "externalTraffic=Local during update",
        )


def validate_endpoints(errs: Errors, ep: core_pb2.Endpoints) -> None:
    """Each subset's addresses are IPs; its ports are numbered, named and unique by name."""
    for i, subset in enumerate(ep.subsets):
        spath = index("subsets", i)
        for field, json_name in (
            ("addresses", "addresses"),
            ("not_ready_addresses", "notReadyAddresses"),
        ):
            for j, addr in enumerate(getattr(subset, field)):
                apath = index(child(spath, json_name), j)
                if not addr.ip:
                    errs.required(child(apath, "ip"))
                else:
                    _endpoint_ip(errs, child(apath, "ip"), addr.ip)
                if addr.HasField("node_name") and addr.node_name:
                    errs.invalid_each(
                        child(apath, "nodeName"),
                        addr.node_name,
                        is_dns1123_subdomain(addr.node_name),
                    )
        names: set[str] = set()
        for j, port in enumerate(subset.ports):
            _port(errs, index(child(spath, "ports"), j), port, names, several=len(subset.ports) > 1)


def _endpoint_ip(errs: Errors, path: str, value: str) -> None:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        errs.invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        return
    if ip.is_unspecified:
        errs.invalid(path, value, "may not be unspecified (0.0.0.0)")
