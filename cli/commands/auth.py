"""`tug auth can-i VERB RESOURCE [NAME]` and `tug auth whoami`, as kubectl's.

can-i asks the API server's Auth service for an access review: about the caller, or with
`--as USER [--as-group G]` about someone else (which only an admin may ask). It prints
`yes` or `no` and exits 0 or 1, so scripts can test it; `tug auth whoami` prints the user
and groups the server sees.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.nodeagent import on_some_server
from cli.errors import CliError
from cli.invocation import Invocation
from client.kinds import UnknownKindError, resolve
from proto import auth_pb2, auth_pb2_grpc


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug auth` and its subcommands."""
    p = sub.add_parser("auth", parents=[common], help="inspect authorization")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    can = verbs.add_parser("can-i", parents=[common], help="whether an action is allowed")
    can.add_argument("action", help="get, list, watch, create, update, patch, delete, ...")
    can.add_argument("resource", help="pods, deployments.apps, pods/log, ...")
    can.add_argument("name", nargs="?", default="", help="one object's name")
    can.add_argument("--as", dest="as_user", default="", help="ask about this user")
    can.add_argument("--as-group", action="append", default=[], help="with this group")
    can.set_defaults(func=can_i)
    verbs.add_parser("whoami", parents=[common], help="who the server takes you for").set_defaults(
        func=whoami
    )


def _attributes(inv: Invocation) -> auth_pb2.ResourceAttributes:
    a = inv.args
    resource, _, subresource = a.resource.partition("/")
    try:
        kind = resolve(resource)
    except UnknownKindError as e:
        raise CliError(str(e)) from None
    return auth_pb2.ResourceAttributes(
        verb=a.action,
        api_group=kind.group,
        resource=kind.resource,
        subresource=subresource,
        namespace=inv.namespace() if kind.namespaced else "",
        name=a.name,
    )


async def _call(inv: Invocation, method: str, request: Any) -> Any:
    """One Auth call on the first API server that answers."""

    async def call(stub: Any) -> Any:
        return await getattr(stub, method)(request, timeout=10)

    return await on_some_server(inv, call, auth_pb2_grpc.AuthStub)


async def can_i(inv: Invocation) -> int:
    """`yes` (exit 0) or `no` (exit 1), as `kubectl auth can-i`."""
    a = inv.args
    request = auth_pb2.AccessReviewRequest(
        user=a.as_user, groups=a.as_group, resource_attributes=_attributes(inv)
    )
    if a.as_group and not a.as_user:
        raise CliError("--as-group: needs --as USER")
    answer: auth_pb2.AccessReviewResponse = await _call(inv, "Review", request)
    inv.out("yes" if answer.allowed else "no")
    return 0 if answer.allowed else 1


async def whoami(inv: Invocation) -> int:
    """The user and groups, as `kubectl auth whoami`."""
    answer: auth_pb2.WhoAmIResponse = await _call(inv, "WhoAmI", auth_pb2.WhoAmIRequest())
    inv.out(f"Username: {answer.user}")
    inv.out(f"Groups:   [{' '.join(answer.groups)}]")
    return 0
