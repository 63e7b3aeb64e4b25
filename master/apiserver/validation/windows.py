"""Windows options of a pod and its containers, checked as Kubernetes checks them.

Linux nodes ignore `securityContext.windowsOptions` (Kubernetes' Linux kubelet does
too), but the API stores and validates them wherever they are written, so a manifest
meant for mixed clusters applies here as it would there, and a wrong one is refused
naming the field: a gMSA spec name that is no DNS subdomain, a run-as user name Windows
would not take, or a HostProcess pod that is not wholly HostProcess on the host network.
"""

from __future__ import annotations

import re

from client.names import is_dns1123_subdomain
from master.apiserver.validation.errors import Errors, child, index
from proto import core_pb2

__all__ = ["validate_windows"]

_GMSA_SPEC_MAX = 64 * 1024
_USER_MAX, _DOMAIN_MAX, _NETBIOS_MAX = 104, 256, 15
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USER_FORBIDDEN = set('"/\\[]:;|=,+*?<>@')
_NETBIOS = re.compile(r"^[^\\/:*?\"<>|.][^\\/:*?\"<>|]{0,14}$")
_DNS_DOMAIN = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$")


def _options(errs: Errors, opts: core_pb2.WindowsSecurityContextOptions, path: str) -> None:
    name_path = child(path, "gmsaCredentialSpecName")
    if opts.gmsa_credential_spec_name:
        name = opts.gmsa_credential_spec_name
        errs.invalid_each(name_path, name, is_dns1123_subdomain(name))
    if len(opts.gmsa_credential_spec) > _GMSA_SPEC_MAX:
        errs.invalid(
            child(path, "gmsaCredentialSpec"), "", "gmsaCredentialSpec size must be under 64 KiB"
        )
    if opts.HasField("run_as_user_name"):
        _user_name(errs, opts.run_as_user_name, child(path, "runAsUserName"))


def _user_name(errs: Errors, name: str, path: str) -> None:
    """`[DOMAIN\\]USER` as Windows takes it (Kubernetes' rules and words)."""
    if not name:
        errs.invalid(path, name, "runAsUserName cannot be an empty string")
        return
    if _CONTROL.search(name):
        errs.invalid(path, name, "runAsUserName cannot contain control characters")
        return
    parts = name.split("\\")
    if len(parts) > 2:
        errs.invalid(path, name, "runAsUserName cannot contain more than one backslash")
        return
    domain, user = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    if len(parts) == 2:
        if len(domain) > _DOMAIN_MAX:
            errs.invalid(path, name, "runAsUserName's Domain length must be under 256 characters")
        elif not (
            (len(domain) <= _NETBIOS_MAX and _NETBIOS.match(domain)) or _DNS_DOMAIN.match(domain)
        ):
            errs.invalid(
                path, name, "runAsUserName's Domain doesn't match the NetBios nor the DNS format"
            )
    if not user:
        errs.invalid(path, name, "runAsUserName's User cannot be empty")
    elif len(user) > _USER_MAX:
        errs.invalid(
            path, name, "runAsUserName's User length must not be longer than 104 characters"
        )
    elif set(user) & _USER_FORBIDDEN:
        errs.invalid(
            path,
            name,
            "runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]",
        )
    elif not user.strip(". "):
        errs.invalid(path, name, "runAsUserName's User cannot contain only periods or spaces")


def validate_windows(errs: Errors, spec: core_pb2.PodSpec, path: str) -> None:
    """Every windowsOptions of the pod and its containers, then HostProcess' rules: a pod
    with any HostProcess container is HostProcess throughout and on the host network."""
    pod_opts = spec.security_context.windows_options
    pod_path = child(child(path, "securityContext"), "windowsOptions")
    if spec.security_context.HasField("windows_options"):
        _options(errs, pod_opts, pod_path)
    pod_host = pod_opts.host_process if pod_opts.HasField("host_process") else None
    containers: list[tuple[str, core_pb2.Container]] = [
        (index(child(path, json_name), i), c)
        for field, json_name in (
            ("init_containers", "initContainers"),
            ("containers", "containers"),
        )
        for i, c in enumerate(getattr(spec, field))
    ]
    any_host = bool(pod_host)
    effective: list[tuple[str, bool]] = []
    for cpath, c in containers:
        sc = c.security_context
        opts_path = child(child(cpath, "securityContext"), "windowsOptions")
        if sc.HasField("windows_options"):
            _options(errs, sc.windows_options, opts_path)
        own = (
            sc.windows_options.host_process if sc.windows_options.HasField("host_process") else None
        )
        if own is not None and pod_host is not None and own != pod_host:
            errs.invalid(
                child(opts_path, "hostProcess"),
                own,
                "pod hostProcess value must be identical if both are specified",
            )
        value = own if own is not None else bool(pod_host)
        any_host = any_host or value
        effective.append((opts_path, value))
    if not any_host:
        return
    for opts_path, value in effective:
        if not value:
            errs.invalid(
                child(opts_path, "hostProcess"),
                False,
                "If pod contains any hostProcess containers then all containers must be "
                "HostProcess containers",
            )
    if not spec.host_network:
        errs.invalid(
            child(path, "hostNetwork"),
            spec.host_network,
            "hostNetwork must be true if pod contains any hostProcess containers",
        )
