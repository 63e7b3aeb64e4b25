"""Posting a review to a webhook: what admission and CRD conversion webhooks share.

Both are reached the same way in Kubernetes (a `clientConfig` of a URL or a Service,
`caBundle` as the trust root) and both speak the same exchange: a review with a fresh
`request.uid` POSTed as JSON, answered by the same kind of review whose `response.uid`
must echo it. What a review asks and how its answer is read stay with each caller
(admission/webhooks.py, customresources/conversion.py); this module only delivers it.

A Service is resolved to one of its ready endpoints, as kube-apiserver's endpoint routing
does, and the certificate is checked against `<service>.<namespace>.svc`. Each call opens
its own HTTP session: nothing is paid by a request that calls no webhook, and no
connection outlives the call (kube-apiserver keeps a pool; this is the simple end).
"""

from __future__ import annotations

import random
import ssl
import uuid
from functools import lru_cache
from typing import Any, Protocol

import aiohttp

from client.kinds import Kind, by_resource
from proto import admissionregistration_pb2 as ar

__all__ = ["CallFailed", "Reader", "post_review"]

SERVICES = by_resource("services")
ENDPOINTS = by_resource("endpoints")


class CallFailed(Exception):
    """The webhook could not be asked, or its answer could not be read."""


class Reader(Protocol):
    async def get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        """One stored object, None when there is none."""
        ...


@lru_cache(maxsize=64)
def _tls(ca_bundle: bytes) -> ssl.SSLContext:
    """The client context trusting `ca_bundle` (the system's roots when empty)."""
    if ca_bundle:
        return ssl.create_default_context(cadata=ca_bundle.decode("ascii", "replace"))
    return ssl.create_default_context()


async def post_review(
    reader: Reader,
    config: ar.WebhookClientConfig,
    review: dict[str, Any],
    request: dict[str, Any],
    seconds: int,
) -> dict[str, Any]:
    """The webhook's `response` to `review` carrying `request` (given a fresh uid)."""
    uid = str(uuid.uuid4())
    url, shown, server_name = await _address(reader, config, seconds)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session:
            async with session.post(
                url,
                json={**review, "request": {"uid": uid, **request}},
                ssl=_tls(bytes(config.ca_bundle)),
                server_hostname=server_name,
            ) as answer:
                if answer.status != 200:
                    raise CallFailed(f'Post "{shown}": HTTP {answer.status}')
                body = await answer.json(content_type=None)
    except TimeoutError:
        raise CallFailed(f'Post "{shown}": context deadline exceeded') from None
    except (aiohttp.ClientError, ssl.SSLError, OSError, ValueError) as e:
        raise CallFailed(f'Post "{shown}": {e}') from None
    response = body.get("response") if isinstance(body, dict) else None
    if not isinstance(response, dict):
        raise CallFailed("the webhook's answer holds no response")
    if response.get("uid") != uid:
        raise CallFailed(f"expected response.uid={uid!r}, got {response.get('uid')!r}")
    return response


async def _address(
    reader: Reader, config: ar.WebhookClientConfig, seconds: int
) -> tuple[str, str, str | None]:
    """Where to post: the URL, the URL as Kubernetes names it in errors, and the host name
    the certificate must hold (None: the URL's own)."""
    query = f"?timeout={seconds}s"
    if config.HasField("url"):
        return config.url + query, config.url + query, None
    ref = config.service
    path = ref.path if ref.HasField("path") and ref.path else "/"
    host = f"{ref.name}.{ref.namespace}.svc"
    shown = f"https://{host}:{ref.port}{path}{query}"
    service = await reader.get(SERVICES, ref.namespace, ref.name)
    if service is None:
        raise CallFailed(f'Post "{shown}": service "{ref.name}" not found')
    port = next((p for p in service.spec.ports if p.port == ref.port), None)
    if port is None:
        raise CallFailed(f'Post "{shown}": service "{ref.name}" has no port {ref.port}')
    endpoints = await reader.get(ENDPOINTS, ref.namespace, ref.name)
    choices = [
        (a.ip, p.port)
        for subset in (endpoints.subsets if endpoints is not None else [])
        for p in subset.ports
        if p.name == port.name or len(subset.ports) == 1
        for a in subset.addresses
    ]
    if not choices:
        raise CallFailed(f'Post "{shown}": no endpoints available for service "{ref.name}"')
    ip, target = random.choice(choices)
    return f"https://{ip}:{target}{path}{query}", shown, host
