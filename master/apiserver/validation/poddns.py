"""Validation of how a pod names the world: dnsConfig (with its dnsPolicy) and hostAliases.

Apart from pod.py since they are one concern, the pod's resolver and hosts file, which the
kubelet hands to the sandbox (kubelet/network/dns.py). The limits are the resolver's own
(three nameservers, 32 search domains of 2048 characters in all), as Kubernetes checks
them in `validatePodDNSConfig`, with its messages.
"""

from __future__ import annotations

from client.names import is_dns1123_subdomain
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import validate_ip
from proto import core_pb2

MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_SEARCH_CHARACTERS = 2048


def dns_config(errs: Errors, spec: core_pb2.PodSpec, path: str) -> None:
    """dnsConfig, and what dnsPolicy None asks of it."""
    cpath = child(path, "dnsConfig")
    config = spec.dns_config
    if spec.dns_policy == "None":
        if not spec.HasField("dns_config"):
            errs.required(cpath, "must provide `dnsConfig` when `dnsPolicy` is None")
            return
        if not config.nameservers:
            errs.required(
                child(cpath, "nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )
    if not spec.HasField("dns_config"):
        return
    npath = child(cpath, "nameservers")
    if len(config.nameservers) > MAX_NAMESERVERS:
        errs.invalid(
            npath,
            list(config.nameservers),
            f"must not have more than {MAX_NAMESERVERS} nameservers",
        )
    for i, server in enumerate(config.nameservers):
        validate_ip(errs, index(npath, i), server)
    spath = child(cpath, "searches")
    if len(config.searches) > MAX_SEARCHES:
        errs.invalid(
            spath, list(config.searches), f"must not have more than {MAX_SEARCHES} search paths"
        )
    if len(" ".join(config.searches)) > MAX_SEARCH_CHARACTERS:
        errs.invalid(
            spath,
            list(config.searches),
            f"must not have more than {MAX_SEARCH_CHARACTERS} characters (including spaces) "
            "in the search list",
        )
    for i, domain in enumerate(config.searches):
        # A trailing dot (an absolute name) is allowed, as resolv.conf allows it.
        errs.invalid_each(index(spath, i), domain, is_dns1123_subdomain(domain.removesuffix(".")))
    for i, option in enumerate(config.options):
        if not option.name:
            errs.required(child(index(child(cpath, "options"), i), "name"))


def host_aliases(errs: Errors, spec: core_pb2.PodSpec, path: str) -> None:
    """Each alias an IP address and valid host names."""
    for i, alias in enumerate(spec.host_aliases):
        apath = index(child(path, "hostAliases"), i)
        if not alias.ip:
            errs.required(child(apath, "ip"))
        else:
            validate_ip(errs, child(apath, "ip"), alias.ip)
        for j, name in enumerate(alias.hostnames):
            errs.invalid_each(index(child(apath, "hostnames"), j), name, is_dns1123_subdomain(name))
