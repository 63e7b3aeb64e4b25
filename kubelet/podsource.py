"""The pods bound to this node, from the API server: list, then watch, re-list on expiry.

A watch that breaks (the API server dropped a slow watcher, restarted, or the connection
failed) resumes from the last revision it delivered, as client-go's reflector does, and
the node's pods are listed again only when that revision is gone from the server's window
(Gone). Listing again after every broken watch turned an overloaded API server's dropped
watchers into a list of every pod per node, the load that had made it drop them.
"""

from __future__ import annotations

import asyncio

import structlog

from client.api import ApiClient
from client.errors import ApiError, Gone
from kubelet.pods.manager import PodManager
from proto import core_pb2

log = structlog.get_logger("kubelet.podsource")

_MAX_RETRY_SECONDS = 5.0


async def watch_pods(api: ApiClient, node: str, manager: PodManager, version: str = "") -> None:
    """Feed the manager every change of the pods with spec.nodeName == node, until cancelled;
    from `version` when the manager already holds the pods listed at it."""
    selector = f"spec.nodeName={node}"
    retry = 0.2
    # `version`: the last revision the manager has seen; "" until listed, and after Gone.
    while True:
        try:
            if not version:
                listed = await api.list("pods", "", field_selector=selector)
                pods = [
                    p
                    for p in listed.items
                    if isinstance(p, core_pb2.Pod) and p.spec.node_name == node
                ]
                manager.replace_all(pods)
                version = listed.resource_version
                retry = 0.2
            async for event in api.watch(
                "pods", "", resource_version=version, field_selector=selector
            ):
                retry = 0.2
                if event.resource_version:
                    version = event.resource_version
                pod = event.object
                if event.type == "BOOKMARK" or not isinstance(pod, core_pb2.Pod):
                    continue
                if pod.spec.node_name != node:
                    continue
                if event.type == "DELETED":
                    manager.remove(pod.metadata.uid)
                else:
                    manager.upsert(pod)
        except Gone:
            log.info("pod watch expired, listing again", node=node)
            version = ""
            continue
        except (ApiError, OSError) as e:
            log.warning("pod watch failed, resuming", node=node, error=str(e), retry_seconds=retry)
        await asyncio.sleep(retry)
        retry = min(retry * 2, _MAX_RETRY_SECONDS)
