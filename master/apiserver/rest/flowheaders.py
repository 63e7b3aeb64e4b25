"""API Priority and Fairness' response headers: which FlowSchema and priority level
served a request, by uid, as kube-apiserver sends them on every classified response.

Set when the response is prepared rather than after the handler returns, because a
watch's or a log's response is sent while its handler is still running.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from master.apiserver.flowcontrol.dispatcher import Admission

ADMITTED: web.RequestKey[Admission | None] = web.RequestKey("tugboat.flowcontrol.admitted")
"""The request's key for the dispatcher's classification (None: not classified)."""
FLOW_SCHEMA_UID = "X-Kubernetes-PF-FlowSchema-UID"
PRIORITY_LEVEL_UID = "X-Kubernetes-PF-PriorityLevel-UID"


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp's on_response_prepare hook: name the schema and level, when known."""
    admitted = request.get(ADMITTED)
    if admitted is None:
        return
    response.headers[FLOW_SCHEMA_UID] = admitted.flow_schema_uid
    response.headers[PRIORITY_LEVEL_UID] = admitted.priority_level_uid


def remember(request: web.Request) -> Callable[[Admission], None]:
    """What the gate calls with a request's classification, before it waits: the answer
    names them even when it is a refusal for load, as kube-apiserver's does."""

    def classified(admission: Admission) -> None:
        request[ADMITTED] = admission

    return classified
