"""Which describer writes which kind's page; every page ends with the object's events."""

from __future__ import annotations

from cli.describe import generic, nodes, pods, services, workloads
from cli.describe.events import events_for, write_events
from cli.describe.writer import Writer
from client.api import ApiClient
from client.kinds import Object
from proto import core_pb2, workloads_pb2


async def page(api: ApiClient, obj: Object) -> str:
    """The whole describe text of one object."""
    w = Writer()
    if isinstance(obj, core_pb2.Pod):
        pods.describe_pod(w, obj)
    elif isinstance(obj, workloads_pb2.Deployment):
        workloads.describe_deployment(w, obj)
    elif isinstance(obj, workloads_pb2.ReplicaSet):
        await workloads.describe_replicaset(w, obj, api)
    elif isinstance(obj, workloads_pb2.DaemonSet):
        workloads.describe_daemonset(w, obj)
    elif isinstance(obj, workloads_pb2.Job):
        workloads.describe_job(w, obj)
    elif isinstance(obj, core_pb2.Node):
        await nodes.describe_node(w, obj, api)
    elif isinstance(obj, core_pb2.Service):
        await services.describe_service(w, obj, api)
    elif isinstance(obj, core_pb2.ConfigMap):
        generic.describe_configmap(w, obj)
    else:
        generic.describe_generic(w, obj)
    if not isinstance(obj, core_pb2.Event):
        write_events(w, await events_for(api, obj))
    return w.render()
