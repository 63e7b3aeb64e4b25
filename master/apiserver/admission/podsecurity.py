"""Pod Security Standards, enforced per namespace as Kubernetes' PodSecurity admission does.

A namespace's label `pod-security.kubernetes.io/enforce` names its level:

- `privileged`: anything goes (kube-system, and any namespace without the label);
- `baseline`: no known privilege escalation: no host namespaces, privileged containers,
  hostPath volumes or host ports, no capabilities beyond Kubernetes' default set, no
  Unmasked /proc, no Unconfined seccomp or AppArmor, only the safe sysctls;
- `restricted`: baseline and the hardening best practices: run as non-root (and not as
  uid 0), no privilege escalation, every capability dropped (NET_BIND_SERVICE may be
  added back), a RuntimeDefault or Localhost seccomp profile (the volume types Tugboat
  has, emptyDir, configMap and secret, are all allowed; hostPath is baseline's).

Each refusal names the check and the field, in Kubernetes' words, so the user can fix
the manifest: `privileged (container "app" must not set securityContext.privileged=true)`.
Namespaces created through the API get `baseline` when they set no level (the issue's
choice, stricter than Kubernetes' unlabelled `privileged`); the system namespaces stay
privileged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from proto import core_pb2

ENFORCE = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
DEFAULT_FOR_NEW_NAMESPACES = "baseline"

BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
     "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip
SAFE_SYSCTLS = frozenset(
    {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
     "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
     "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
     "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
)  # fmt: skip


def level_of(namespace: core_pb2.Namespace | None) -> str:
    """The enforced level of a namespace (privileged when it has none)."""
    if namespace is None:
        return "privileged"
    level = namespace.metadata.labels.get(ENFORCE, "privileged")
    return level if level in LEVELS else "restricted"  # an unknown level fails closed


def _containers(spec: core_pb2.PodSpec) -> Iterable[tuple[str, Any]]:
    for c in spec.init_containers:
        yield f'container "{c.name}"', c
    for c in spec.containers:
        yield f'container "{c.name}"', c
    for e in spec.ephemeral_containers:
        yield f'container "{e.name}"', e


def _baseline(pod: core_pb2.Pod) -> list[str]:
    spec, found = pod.spec, []
    for flag, on in (("hostNetwork", spec.host_network), ("hostPID", spec.host_pid),
                     ("hostIPC", spec.host_ipc)):  # fmt: skip
        if on:
            found.append(f"host namespaces ({flag}=true)")
    for who, c in _containers(spec):
        sc = c.security_context
        if sc.HasField("privileged") and sc.privileged:
            found.append(f"privileged ({who} must not set securityContext.privileged=true)")
        added = sorted(set(sc.capabilities.add) - BASELINE_CAPABILITIES)
        if added:
            found.append(
                f"capabilities ({who} must not include {', '.join(added)} in "
                "securityContext.capabilities.add)"
            )
        ports = [p.host_port for p in c.ports if p.host_port]
        if ports:
            found.append(f"hostPort ({who} uses hostPort {', '.join(map(str, ports))})")
        if sc.proc_mount == "Unmasked":
            found.append(f"procMount ({who} must not set securityContext.procMount=Unmasked)")
        if sc.seccomp_profile.type == "Unconfined":
            found.append(f"seccompProfile ({who} must not set seccompProfile.type=Unconfined)")
        if sc.app_armor_profile.type == "Unconfined":
            found.append(f"appArmorProfile ({who} must not set appArmorProfile.type=Unconfined)")
    hosts = [who for who, c in _containers(spec) if c.security_context.windows_options.host_process]
    if spec.security_context.windows_options.host_process:
        hosts.insert(0, "pod")
    if hosts:
        named = " and ".join(hosts)
        found.append(
            f"hostProcess ({named} must not set securityContext.windowsOptions.hostProcess=true)"
        )
    for v in spec.volumes:
        if v.HasField("host_path"):
            found.append(f'hostPath volumes (volume "{v.name}")')
    if spec.security_context.seccomp_profile.type == "Unconfined":
        found.append("seccompProfile (pod must not set seccompProfile.type=Unconfined)")
    unsafe = [s.name for s in spec.security_context.sysctls if s.name not in SAFE_SYSCTLS]
    if unsafe:
        found.append(f"forbidden sysctls ({', '.join(unsafe)})")
    return found


def _restricted(pod: core_pb2.Pod) -> list[str]:
    spec, found = pod.spec, []
    pod_sc = spec.security_context
    for who, c in _containers(spec):
        sc = c.security_context
        if not (sc.HasField("allow_privilege_escalation") and not sc.allow_privilege_escalation):
            found.append(
                f"allowPrivilegeEscalation != false ({who} must set "
                "securityContext.allowPrivilegeEscalation=false)"
            )
        if "ALL" not in sc.capabilities.drop:
            found.append(
                f"unrestricted capabilities ({who} must set "
                'securityContext.capabilities.drop=["ALL"])'
            )
        extra = sorted(set(sc.capabilities.add) - {"NET_BIND_SERVICE"})
        if extra:
            found.append(
                f"unrestricted capabilities ({who} must not include {', '.join(extra)} in "
                "securityContext.capabilities.add)"
            )
        non_root = (
            sc.run_as_non_root
            if sc.HasField("run_as_non_root")
            else (pod_sc.run_as_non_root if pod_sc.HasField("run_as_non_root") else False)
        )
        if not non_root:
            found.append(
                f"runAsNonRoot != true (pod or {who} must set securityContext.runAsNonRoot=true)"
            )
        uid = (
            sc.run_as_user
            if sc.HasField("run_as_user")
            else (pod_sc.run_as_user if pod_sc.HasField("run_as_user") else None)
        )
        if uid == 0:
            found.append(f"runAsUser=0 ({who} must not set runAsUser=0)")
        profile = sc.seccomp_profile.type or pod_sc.seccomp_profile.type
        if profile not in ("RuntimeDefault", "Localhost"):
            found.append(
                f"seccompProfile (pod or {who} must set securityContext.seccompProfile.type "
                'to "RuntimeDefault" or "Localhost")'
            )
    return found


def violations(pod: core_pb2.Pod, level: str) -> list[str]:
    """What the pod breaks of `level`'s rules ([] when it complies)."""
    if level == "privileged":
        return []
    found = _baseline(pod)
    if level == "restricted":
        found += _restricted(pod)
    return found


def refusal(pod: core_pb2.Pod, namespace: core_pb2.Namespace | None) -> str | None:
    """Kubernetes' message for a pod its namespace's level forbids; None when it may run."""
    level = level_of(namespace)
    found = violations(pod, level)
    if not found:
        return None
    return (
        f'pods "{pod.metadata.name}" is forbidden: violates PodSecurity "{level}:latest": '
        + ", ".join(found)
    )
