"""What each transport says about who is calling: the bearer header and the client
certificate TLS verified, in the one shape `Access.authenticate` takes.

gRPC hands the verified certificate over in the call's auth context (`x509_pem_cert`,
PEM); aiohttp leaves it on the connection's ssl object (DER). Both the gRPC services and
the REST handlers read them here, so that a certificate counts the same by either door.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiohttp import web

from client.credentials import AUTHORIZATION

__all__ = ["grpc_caller", "http_caller"]


def grpc_caller(context: Any) -> tuple[str | None, bytes | None]:
    """(the authorization metadata, the verified client certificate's PEM) of a call."""
    authorization = dict(context.invocation_metadata() or ()).get(AUTHORIZATION)
    certificate: bytes | None = None
    try:
        found = context.auth_context().get("x509_pem_cert")
    except AttributeError:  # a test double without an auth context
        found = None
    if found:
        certificate = bytes(found[0])
    return (str(authorization) if authorization is not None else None), certificate


def http_caller(request: web.Request) -> tuple[str | None, bytes | None]:
    """(the Authorization header, the verified client certificate's PEM) of a request."""
    certificate: bytes | None = None
    transport = request.transport
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    if isinstance(tls, ssl.SSLObject):
        der = tls.getpeercert(binary_form=True)
        if der:
            certificate = ssl.DER_cert_to_PEM_cert(der).encode()
    return request.headers.get("Authorization"), certificate
