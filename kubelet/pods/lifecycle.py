"""Container lifecycle hooks: postStart and preStop, run as Kubernetes' kubelet runs them.

A hook is one action: a command inside the container, an HTTP GET against the pod (any
answer will do: only a request that gets none fails), or a sleep. tcpSocket is kept by the
API for compatibility and fails here, as it does in Kubernetes ("not supported").

The actions are the probes' own (kubelet/probes/checks.py), so a hook's command or GET
behaves exactly like a probe's. What differs is what a failure means, and that belongs to
the pod worker: a failed postStart kills the container, a failed preStop is reported and
the container is stopped all the same. Here a failure is only its message, worded as
Kubernetes' events word it, so `kubectl describe pod` reads as users know it.
"""

from __future__ import annotations

import asyncio

from kubelet.probes import checks
from kubelet.runtime.interface import ContainerRuntime
from proto import core_pb2

POST_START, PRE_STOP = "post_start", "pre_stop"


def hook_of(spec: core_pb2.Container, which: str) -> core_pb2.LifecycleHandler | None:
    """The container's postStart or preStop handler, if it has one."""
    if spec.HasField("lifecycle") and spec.lifecycle.HasField(which):
        handler: core_pb2.LifecycleHandler = getattr(spec.lifecycle, which)
        return handler
    return None


async def run_hook(
    runtime: ContainerRuntime,
    pod: core_pb2.Pod,
    spec: core_pb2.Container,
    container_id: str,
    pod_ip: str,
    handler: core_pb2.LifecycleHandler,
    timeout: float,
) -> str | None:
    """Run one hook to its end or for `timeout` s: None when it ran, else why it failed."""
    m = pod.metadata
    where = f'for Container "{spec.name}" in Pod "{m.name}_{m.namespace}({m.uid})"'
    if handler.HasField("exec"):
        command = list(handler.exec.command)
        outcome = await checks.exec_command(handler.exec, runtime, container_id, timeout)
        if outcome.success:
            return None
        shown = "[" + " ".join(command) + "]"
        return f"Exec lifecycle hook ({shown}) {where} failed - error: {outcome.message}"
    if handler.HasField("http_get"):
        outcome = await checks.http_get(handler.http_get, spec, pod_ip, timeout, any_status=True)
        if outcome.success:
            return None
        path = handler.http_get.path or "/"
        return f"HTTP lifecycle hook ({path}) {where} failed - error: {outcome.message}"
    if handler.HasField("sleep"):
        await asyncio.sleep(min(float(handler.sleep.seconds), timeout))
        return None
    return f"Lifecycle hook {where} failed - error: TCPSocket is not supported as a handler"
