"""The Kubernetes REST API, beside gRPC on every API server's HTTP port.

kubectl, the official clients and operators speak HTTP with JSON; Tugboat's own components
speak gRPC. Both front-ends call one store (the registry, lister, deleter and watch of
master/apiserver), so what one accepts the other accepts. This package only translates:
paths and query parameters (handlers.py), discovery (groups.py), the OpenAPI schema
(openapi.py), patches (patching.py) and refusals as `Status` objects (status.py).
"""
