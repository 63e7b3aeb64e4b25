"""EndpointSlices (discovery.k8s.io/v1), checked as Kubernetes' discovery validation does.

The rules and words are those of pkg/apis/discovery/validation (v1.32): an address type
from a fixed list that never changes, at most 1,000 endpoints of 1 to 100 addresses each,
every address of the slice's type, and at most 100 ports with unique names. FQDN slices
are accepted as Kubernetes accepts them (deprecated there, never written by Tugboat).
"""

from __future__ import annotations

import ipaddress

from client.names import is_dns1123_label, is_dns1123_subdomain
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import PROTOCOLS
from proto import discovery_pb2

__all__ = ["ADDRESS_TYPES", "validate_endpoint_slice", "validate_endpoint_slice_update"]

ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 100


def _too_many(errs: Errors, path: str, count: int, limit: int) -> None:
    errs.add(path, f"Too many: {count}: must have at most {limit} items")


def validate_endpoint_slice(errs: Errors, slice_: discovery_pb2.EndpointSlice) -> None:
    """Address type, endpoints and ports."""
    errs.enum("addressType", slice_.address_type, ADDRESS_TYPES, required=True)
    if len(slice_.endpoints) > MAX_ENDPOINTS:
        _too_many(errs, "endpoints", len(slice_.endpoints), MAX_ENDPOINTS)
    for i, ep in enumerate(slice_.endpoints):
        _endpoint(errs, index("endpoints", i), ep, slice_.address_type)
    if len(slice_.ports) > MAX_PORTS:
        _too_many(errs, "ports", len(slice_.ports), MAX_PORTS)
    names: set[str] = set()
    for i, port in enumerate(slice_.ports):
        path = index("ports", i)
        if port.name:
            errs.invalid_each(child(path, "name"), port.name, is_dns1123_label(port.name))
            if port.name in names:
                errs.duplicate(child(path, "name"), port.name)
            names.add(port.name)
        errs.enum(child(path, "protocol"), port.protocol, PROTOCOLS, required=True)
        if port.HasField("port"):
            errs.port(child(path, "port"), port.port)


def _endpoint(errs: Errors, path: str, ep: discovery_pb2.Endpoint, address_type: str) -> None:
    addresses = child(path, "addresses")
    if not ep.addresses:
        errs.required(addresses, "must contain at least 1 address")
    elif len(ep.addresses) > MAX_ADDRESSES:
        _too_many(errs, addresses, len(ep.addresses), MAX_ADDRESSES)
    for j, address in enumerate(ep.addresses):
        _address(errs, index(addresses, j), address, address_type)
    if ep.HasField("hostname") and ep.hostname:
        errs.invalid_each(child(path, "hostname"), ep.hostname, is_dns1123_label(ep.hostname))
    if ep.HasField("node_name") and ep.node_name:
        errs.invalid_each(child(path, "nodeName"), ep.node_name, is_dns1123_subdomain(ep.node_name))


def _address(errs: Errors, path: str, address: str, address_type: str) -> None:
    if address_type == "FQDN":
        errs.invalid_each(path, address, is_dns1123_subdomain(address))
        return
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        errs.invalid(path, address, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        return
    wanted = 4 if address_type == "IPv4" else 6
    if address_type in ("IPv4", "IPv6") and ip.version != wanted:
        errs.invalid(path, address, f"must be an {address_type} address")


def validate_endpoint_slice_update(
    errs: Errors, new: discovery_pb2.EndpointSlice, old: discovery_pb2.EndpointSlice
) -> None:
    """The address type, once set, stays."""
    if new.address_type != old.address_type:
        errs.immutable("addressType", new.address_type)
