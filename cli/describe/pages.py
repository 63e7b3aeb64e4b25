"""Which describer writes which kind's page; every page ends with the object's events.

One table per describer signature, keyed by message class: a kind's page is a lookup,
and adding a kind is adding a row. Some describers read related objects (a ReplicaSet's
pods, a Node's pods, a Service's endpoints) and so need the API; the others only the object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cli.describe import generic, nodes, pods, services, workloads
from cli.describe.events import events_for, write_events
from cli.describe.writer import Writer
from client.api import ApiClient
from client.kinds import Object
from proto import core_pb2, workloads_pb2

_PAGES: dict[type, Callable[[Writer, Any], None]] = {
    core_pb2.Pod: pods.describe_pod,
    workloads_pb2.Deployment: workloads.describe_deployment,
    workloads_pb2.DaemonSet: workloads.describe_daemonset,
    workloads_pb2.Job: workloads.describe_job,
    core_pb2.ConfigMap: generic.describe_configmap,
}
"""Describers of the object alone."""

_PAGES_READING: dict[type, Callable[[Writer, Any, ApiClient], Awaitable[None]]] = {
    workloads_pb2.ReplicaSet: workloads.describe_replicaset,
    core_pb2.Node: nodes.describe_node,
    core_pb2.Service: services.describe_service,
}
"""Describers that also read related objects through the API."""


async def page(api: ApiClient, obj: Object) -> str:
    """The whole describe text of one object."""
    w = Writer()
    kind = type(obj)
    if kind in _PAGES:
        _PAGES[kind](w, obj)
    elif kind in _PAGES_READING:
        await _PAGES_READING[kind](w, obj, api)
    else:
        generic.describe_generic(w, obj)
    if not isinstance(obj, core_pb2.Event):
        write_events(w, await events_for(api, obj))
    return w.render()
