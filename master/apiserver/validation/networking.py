"""Ingresses and IngressClasses, checked as Kubernetes' networking validation does.

The rules and the words are those of pkg/apis/networking/validation/validation.go
(v1.32): a rule's host is a DNS name (a wildcard only as the whole first label, never an
IP address), every path names its pathType, Exact and Prefix paths are absolute and free
of the sequences that would let one rule's path escape into another's (`//`, `/../`,
`%2f`, ...), a backend is a Service (name and port, by number or by name) or a resource
and never both, and a TLS secretName is a Secret's name. The proxy's route table relies
on all of this: whatever reaches it was refused here if it could not be routed.
"""

from __future__ import annotations

import ipaddress
import re

from client.names import (
    DNS1123_SUBDOMAIN_MAX,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_path_segment_name,
    is_port_name,
)
from master.apiserver.validation.errors import Errors, child, index
from proto import networking_pb2

__all__ = [
    "PATH_TYPES",
    "SCOPES",
    "is_wildcard_dns1123_subdomain",
    "validate_ingress",
    "validate_ingress_class",
    "validate_ingress_class_update",
    "validate_ingress_status",
]

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
"""Kubernetes lists them sorted in its Unsupported value message."""
SCOPES = ("Cluster", "Namespace")
MAX_CONTROLLER = 250
_INVALID_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_SUFFIXES = ("/..", "/.")
_HTTP_PATH = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_WILDCARD = rf"\*\.{_LABEL}(\.{_LABEL})*"


def is_wildcard_dns1123_subdomain(value: str) -> list[str]:
    """`*.` and a DNS subdomain (apimachinery's IsWildcardDNS1123Subdomain)."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters")
    if not re.fullmatch(_WILDCARD, value):
        errs.append(
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
            "subdomain, which must consist of lower case alphanumeric characters, '-' or '.' "
            "and end with an alphanumeric character (e.g. '*.example.com', regex used for "
            f"validation is '{_WILDCARD}')"
        )
    return errs


def _host(errs: Errors, path: str, host: str) -> None:
    if "*" in host:
        errs.invalid_each(path, host, is_wildcard_dns1123_subdomain(host))
    else:
        errs.invalid_each(path, host, is_dns1123_subdomain(host))


# ---- Ingress ----


def validate_ingress(errs: Errors, ing: networking_pb2.Ingress) -> None:
    """The spec: a default backend or rules, each rule, each TLS entry, the class name."""
    spec = ing.spec
    if not spec.rules and not spec.HasField("default_backend"):
        errs.invalid("spec", None, "either `defaultBackend` or `rules` must be specified")
    if spec.HasField("default_backend"):
        _backend(errs, "spec.defaultBackend", spec.default_backend)
    for i, rule in enumerate(spec.rules):
        _rule(errs, index("spec.rules", i), rule)
    for i, tls in enumerate(spec.tls):
        where = index("spec.tls", i)
        for j, host in enumerate(tls.hosts):
            _host(errs, index(child(where, "hosts"), j), host)
        if tls.secret_name:
            errs.invalid_each(
                child(where, "secretName"), tls.secret_name, is_dns1123_subdomain(tls.secret_name)
            )
    if spec.HasField("ingress_class_name"):
        name = spec.ingress_class_name
        errs.invalid_each("spec.ingressClassName", name, is_dns1123_subdomain(name))


def validate_ingress_status(errs: Errors, ing: networking_pb2.Ingress) -> None:
    """Each load-balancer ingress point: an IP address, a hostname that is not one."""
    for i, point in enumerate(ing.status.load_balancer.ingress):
        where = index("status.loadBalancer.ingress", i)
        if point.ip:
            try:
                ipaddress.ip_address(point.ip)
            except ValueError:
                errs.invalid(child(where, "ip"), point.ip, "must be a valid IP address")
        if point.hostname:
            if _is_ip(point.hostname):
                errs.invalid(
                    child(where, "hostname"),
                    point.hostname,
                    "must be a DNS name, not an IP address",
                )
            errs.invalid_each(
                child(where, "hostname"), point.hostname, is_dns1123_subdomain(point.hostname)
            )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _rule(errs: Errors, where: str, rule: networking_pb2.IngressRule) -> None:
    if rule.host:
        if _is_ip(rule.host):
            errs.invalid(child(where, "host"), rule.host, "must be a DNS name, not an IP address")
        _host(errs, child(where, "host"), rule.host)
    if not rule.HasField("http"):
        return
    paths = child(where, "http.paths")
    if not rule.http.paths:
        errs.required(paths)
    for i, p in enumerate(rule.http.paths):
        _path(errs, index(paths, i), p)


def _path(errs: Errors, where: str, p: networking_pb2.HTTPIngressPath) -> None:
    if not p.HasField("path_type"):
        errs.required(child(where, "pathType"), "pathType must be specified")
        return
    path_field = child(where, "path")
    if p.path_type in ("Exact", "Prefix"):
        if not p.path.startswith("/"):
            errs.invalid(path_field, p.path, "must be an absolute path")
        for bad in _INVALID_SEQUENCES:
            if bad in p.path:
                errs.invalid(path_field, p.path, f"must not contain '{bad}'")
        for bad in _INVALID_SUFFIXES:
            if p.path.endswith(bad):
                errs.invalid(path_field, p.path, f"cannot end with '{bad}'")
    elif p.path_type == "ImplementationSpecific":
        if p.path and not p.path.startswith("/"):
            errs.invalid(path_field, p.path, "must be an absolute path")
    else:
        errs.unsupported(child(where, "pathType"), p.path_type, PATH_TYPES)
    _backend(errs, child(where, "backend"), p.backend)


def _backend(errs: Errors, where: str, backend: networking_pb2.IngressBackend) -> None:
    has_service, has_resource = backend.HasField("service"), backend.HasField("resource")
    if has_service and has_resource:
        errs.invalid(where, "", "cannot set both resource and service backends")
        return
    if has_resource:
        _typed_reference(errs, child(where, "resource"), backend.resource)
        return
    if not has_service:
        errs.invalid(where, "", "resource or service backend is required")
        return
    svc = backend.service
    name_field = child(where, "service.name")
    errs.syntax(name_field, svc.name, is_dns1035_label)
    port = svc.port
    if port.name and port.number:
        errs.invalid(where, "", "cannot set both port name & port number")
    elif port.name:
        errs.invalid_each(child(where, "service.port.name"), port.name, is_port_name(port.name))
    elif port.number:
        errs.port(child(where, "service.port.number"), port.number)
    else:
        errs.required(where, "port name or number is required")


def _typed_reference(
    errs: Errors,
    where: str,
    ref: networking_pb2.TypedLocalObjectReference | networking_pb2.IngressClassParametersReference,
) -> None:
    if ref.HasField("api_group"):
        errs.invalid_each(
            child(where, "apiGroup"), ref.api_group, is_dns1123_subdomain(ref.api_group)
        )
    for field, value in (("kind", ref.kind), ("name", ref.name)):
        errs.syntax(child(where, field), value, is_path_segment_name, detail=f"{field} is required")


# ---- IngressClass ----


def validate_ingress_class(errs: Errors, ic: networking_pb2.IngressClass) -> None:
    """The controller (a domain-prefixed path) and the optional parameters reference."""
    spec = ic.spec
    where = "spec.controller"
    if len(spec.controller) > MAX_CONTROLLER:
        errs.too_long(where, MAX_CONTROLLER)
    _domain_prefixed_path(errs, where, spec.controller)
    if spec.HasField("parameters"):
        _parameters(errs, "spec.parameters", spec.parameters)


def validate_ingress_class_update(
    errs: Errors, new: networking_pb2.IngressClass, old: networking_pb2.IngressClass
) -> None:
    """The controller is immutable: Ingresses of the class would change hands silently."""
    if new.spec.controller != old.spec.controller:
        errs.immutable("spec.controller", new.spec.controller)


def _domain_prefixed_path(errs: Errors, where: str, value: str) -> None:
    if not value:
        errs.required(where)
        return
    host, _, path = value.partition("/")
    if not host or not path:
        errs.invalid(where, value, 'must be a domain-prefixed path (such as "acme.io/foo")')
        return
    errs.invalid_each(where, host, is_dns1123_subdomain(host))
    if not re.fullmatch(_HTTP_PATH, path):
        errs.invalid(where, path, f"Invalid path (regex used for validation is '{_HTTP_PATH}')")


def _parameters(
    errs: Errors, where: str, params: networking_pb2.IngressClassParametersReference
) -> None:
    _typed_reference(errs, where, params)
    if not params.HasField("scope"):
        errs.required(child(where, "scope"))
        return
    if params.scope not in SCOPES:
        errs.unsupported(child(where, "scope"), params.scope, SCOPES)
        return
    if params.scope == "Namespace":
        if not params.HasField("namespace"):
            errs.required(child(where, "namespace"), "`parameters.scope` is set to 'Namespace'")
        else:
            errs.invalid_each(
                child(where, "namespace"), params.namespace, is_dns1123_label(params.namespace)
            )
    elif params.HasField("namespace"):
        errs.forbidden(child(where, "namespace"), "`parameters.scope` is set to 'Cluster'")
