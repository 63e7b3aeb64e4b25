"""ServiceAccounts: identities for the processes in pods. Every namespace gets `default`
in the transaction that creates the namespace (strategies/namespace.py); tokens for them
are issued by the Auth service (authservice.py) and verified by auth/satokens.py."""

from __future__ import annotations

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy


class ServiceAccountStrategy(Strategy):
    """Nothing beyond the generic metadata checks: a ServiceAccount is a name and a uid."""


STRATEGY = ServiceAccountStrategy(by_resource("serviceaccounts"))


def default_service_account(namespace: str, uid: str, created: str) -> object:
    """The `default` ServiceAccount of a namespace."""
    sa = STRATEGY.kind.new()
    sa.metadata.name = "default"
    sa.metadata.namespace = namespace
    sa.metadata.uid = uid
    sa.metadata.creation_timestamp = created
    sa.metadata.generation = 1
    return sa
